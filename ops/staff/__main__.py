from ops.staff.cli import main

main()
