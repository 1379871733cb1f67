# The gridgov app (the database is the postgis/postgis image, see docker-compose.yml).
# The wheels of shapely, pyproj, pyogrio and psycopg[binary] bundle GEOS, PROJ, GDAL and libpq: no apt needed.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# Editable, so that the app finds web/ (templates, static files) beside its packages.
# /var/lib/gridgov keeps the generated token signing secret (GRID_AUTH_STATE_DIR; a volume in compose).
RUN pip install -e . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin gridgov \
    && chown -R gridgov /app \
    && install -d -m 700 -o gridgov /var/lib/gridgov
ENV GRID_AUTH_STATE_DIR=/var/lib/gridgov
USER gridgov

EXPOSE 8000
CMD ["sh", "-c", "gridgov migrate && exec gridgov serve --host 0.0.0.0 --port 8000"]
