"""``python -m yuqing.demo_site [--host H] [--port P]``: serve the demo news site until Ctrl-C."""

from yuqing.demo_site.server import main

main()
