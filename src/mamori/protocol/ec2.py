"""The `ec2` protocol (ec2Query): the query protocol with EC2's own names.

Differences from `query` (https://smithy.io/2.0/aws/protocols/aws-ec2-query-protocol.html):
- input names: the `queryName` trait, else the `locationName` with its first letter
  upper-cased, else the member name; every list is `Prefix.N` (no `.member`), and an
  empty list sends nothing;
- response: `<OpResponse xmlns="http://ec2.amazonaws.com/doc/<apiVersion>/">
  <requestId>..</requestId>` then the output members, no result wrapper;
- error: `<Response><Errors><Error><Code/><Message/></Error></Errors>
  <RequestID/></Response>` (note `RequestID`);
- a missing required parameter is `MissingParameter` ("The request must contain the
  parameter X"), other bad values `InvalidParameterValue`.
"""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from mamori.errors import AwsError, ValidationError
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol import xmlbody
from mamori.protocol.base import register
from mamori.protocol.modeled_errors import resolve
from mamori.protocol.query import FormReader, QueryCodec, read_form, xml_response
from mamori.protocol.validate import validate


class Ec2FormReader(FormReader):
    validation_code = "InvalidParameterValue"

    def member_key(self, name: str, member: Shape) -> str:
        return ec2_query_name(name, member)

    def list_item_prefix(self, prefix: str, shape: Shape) -> str:
        return prefix


def ec2_query_name(name: str, member: Shape) -> str:
    ser = member.serialization
    if "queryName" in ser:
        return ser["queryName"]
    if "name" in ser:
        return ser["name"][:1].upper() + ser["name"][1:]
    return name


def ec2_namespace(service: ServiceModel) -> str:
    return f"http://ec2.amazonaws.com/doc/{service.metadata.get('apiVersion', '')}/"


class Ec2Codec(QueryCodec):
    name = "ec2"
    reader = Ec2FormReader

    def parse_request(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        shape = operation.input_shape
        params = read_form(Ec2FormReader(request.form), shape)
        if shape is not None:
            for name in shape.required_members:
                if params.get(name) is None and name in shape.members:
                    wire_name = ec2_query_name(name, shape.members[name])
                    raise ValidationError(
                        f"The request must contain the parameter {wire_name}",
                        code="MissingParameter",
                    )
        validate(shape, params, code=Ec2FormReader.validation_code)
        return params

    def serialize_response(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        members = xmlbody.member_elements(shape, output or {}) if shape is not None else ""
        name = operation.name
        ns = ec2_namespace(operation.service_model)
        body = (
            f'<{name}Response xmlns="{xmlbody.escape(ns, True)}">'
            f"<requestId>{xmlbody.escape(request_id)}</requestId>{members}</{name}Response>"
        )
        response = xml_response(200, body)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        wire = resolve(service, error)
        body = (
            "<Response><Errors><Error>"
            f"<Code>{xmlbody.escape(wire.query_code)}</Code>"
            f"<Message>{xmlbody.escape(error.message)}</Message>"
            f"</Error></Errors><RequestID>{xmlbody.escape(request_id)}</RequestID></Response>"
        )
        response = xml_response(wire.status, body)
        response.headers.extend(error.headers.items())
        return response


register(Ec2Codec())
