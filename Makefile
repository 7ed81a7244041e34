# Shortcuts for dev.py, which does the work and needs only Python 3.11.
.PHONY: run test lint install worker worker-notifications beat ci

run:
	python3 dev.py run

test:
	python3 dev.py test

lint:
	python3 dev.py lint

install:
	python3 dev.py install

# The full stack needs REDIS_URL (and usually DATABASE_URL) in the environment.
# Two workers, as in docker-compose: SMS codes never wait behind pre-checks or imports.
worker:
	.venv/bin/celery -A portal worker -Q default,reviews,imports -l info -n main@%h

worker-notifications:
	.venv/bin/celery -A portal worker -Q notifications -l info -n notifications@%h

beat:
	.venv/bin/celery -A portal beat -l info

ci:
	bash .ci/run
