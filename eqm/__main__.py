from eqm.cli import main

main()
