from repolens.cli.app import main

main()
