from reclaimctl.cli.main import main

main()
