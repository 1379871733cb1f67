# The README's commands. Every target goes through scripts/bootstrap.sh, which CI uses too.
#   make demo          install what is missing, start PostGIS, migrate, load the demo county, serve :8000
#   make test          install what is missing (plus GDAL, Chromium, CJK fonts), run pytest; ARGS=... for pytest
#   make test-shifted  the same with every clock of the run (pytest, PostgreSQL) at SHIFT=... (libfaketime)
#   make serve         serve the app on the current database (no migration, no loading)
#   make db-stop       stop the project-local PostgreSQL cluster (.pgdata/)
#   make clean         stop it and delete .pgdata/ and caches; `make distclean` also deletes .venv/
# DATABASE_URL in the environment (or .env) points everything at that server instead of .pgdata/.

SHELL := /bin/bash
BOOT := bash scripts/bootstrap.sh
ARGS ?=
SHIFT ?=

.DEFAULT_GOAL := help
.PHONY: help demo test test-shifted serve deps deps-test deps-shifted venv db db-stop clean distclean

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

demo: deps venv
	$(BOOT) demo

test: deps-test venv
	$(BOOT) test $(ARGS)

# SHIFT: a date and time with its zone (default: scripts/bootstrap.sh's, 2028-02-29T23:30:00+08:00).
test-shifted: deps-shifted venv
	$(if $(SHIFT),GRID_TEST_SHIFT='$(SHIFT)' )$(BOOT) test-shifted $(ARGS)

serve: deps venv
	$(BOOT) serve

deps:
	$(BOOT) deps demo

deps-test:
	$(BOOT) deps test

deps-shifted:
	$(BOOT) deps shifted

venv:
	$(BOOT) venv

db: deps venv
	@$(BOOT) db

db-stop:
	$(BOOT) db-stop

clean:
	$(BOOT) clean

distclean:
	$(BOOT) clean --all
