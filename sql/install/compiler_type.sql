/*
 * The pieces of a segmentation's SQL that roll-up, trace, locate and verify
 * share, as built by _sql() in sql/routines/compiler.sql.  A composite type
 * cannot be replaced, so it is created once, by the install script.
 */
CREATE TYPE @extschema@._segmentation_sql AS (
	dim_exprs   pg_catalog.text,	-- "expr AS segroll_dN, " over source alias s
	joins       pg_catalog.text,	-- reference lookups, aliases rN
	dim_names   pg_catalog.text,	-- "segroll_dN, "
	period      pg_catalog.text,	-- the period of source row s
	cell_json   pg_catalog.text,	-- jsonb of the dimensions of cell row c
	cell_cols   pg_catalog.text,	-- "name, " of the cells table
	fresh_json  pg_catalog.text,	-- jsonb of the dimensions of a row of "fresh"
	meas        pg_catalog.text,	-- ", s.measure"
	mapped      pg_catalog.text,	-- true when every reference lookup found a row
	bound       pg_catalog.interval	-- a period lasts less than this
);
