from adapterstilts.cli import main

main()
