# Shortcuts for dev.py, which does the work and needs only Python 3.11.
.PHONY: run test lint install worker beat ci

run:
	python3 dev.py run

test:
	python3 dev.py test

lint:
	python3 dev.py lint

install:
	python3 dev.py install

# The full stack needs REDIS_URL (and usually DATABASE_URL) in the environment.
worker:
	.venv/bin/celery -A portal worker -Q default,reviews,notifications,imports -l info

beat:
	.venv/bin/celery -A portal beat -l info

ci:
	bash .ci/run
