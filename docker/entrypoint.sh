#!/bin/sh
# Entrypoint of the portal image.
#   web            wait for the database, migrate, create the cache table, then run gunicorn
#   anything else  exec'd as given (the worker and beat services run `celery ...`)
set -eu

wait_for_db() {
    python - <<'PY'
import os
import sys
import time

import django

django.setup()

from django.db import connection
from django.db.utils import OperationalError

deadline = time.monotonic() + float(os.environ.get("DB_WAIT_SECONDS", "60"))
while True:
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        if time.monotonic() > deadline:
            print(f"entrypoint: database not reachable: {exc}", file=sys.stderr)
            sys.exit(1)
        print("entrypoint: waiting for the database ...", file=sys.stderr)
        time.sleep(1)
    else:
        connection.close()
        break
PY
}

case "${1:-web}" in
    web)
        wait_for_db
        python manage.py migrate --noinput
        python manage.py createcachetable
        exec gunicorn portal.wsgi:application -b 0.0.0.0:8000 --workers "${WEB_CONCURRENCY:-3}"
        ;;
    *)
        exec "$@"
        ;;
esac
