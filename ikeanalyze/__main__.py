from ikeanalyze.cli import main

main()
