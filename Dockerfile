# The portal image: one image for the web, worker and beat services (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=portal.settings \
    PORTAL_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

WORKDIR /app

# A TrueType CJK font that reportlab embeds in the printed forms (新增参保人员登记表 and proofs);
# openssl 3 checks SM2 (国密) certificates and signatures (employers/verification/sm2.py).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei openssl \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first (declared in pyproject.toml; the project itself installs no package), so
# that a change to the code does not reinstall them. They are expected to install from wheels
# (psycopg[binary], cryptography, argon2-cffi, pillow, reportlab): there is no compiler here.
COPY pyproject.toml ./
RUN pip install .

RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin portal

COPY . .

# Static files are collected at build time without production secrets (DJANGO_ENV unset);
# DJANGO_STATIC_MANIFEST=1 writes the manifest that production mode serves hashed names from.
RUN DJANGO_STATIC_MANIFEST=1 python manage.py collectstatic --noinput \
    && mkdir -p /app/var /app/media \
    && chown -R portal:portal /app/var /app/media \
    && chmod 0755 /app/docker/entrypoint.sh

USER portal

EXPOSE 8000

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
