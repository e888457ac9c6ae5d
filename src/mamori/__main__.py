from mamori.cli import main

raise SystemExit(main())
