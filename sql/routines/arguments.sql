/*
 * The arguments of public routines (issue 14).  Every argument, NULL
 * included, is checked at the top of its routine, before anything else
 * runs and before any SQL is generated.  A NULL is refused with
 * null_value_not_allowed (22004), naming the argument and the routine,
 * unless the routine documents what NULL means (README, "Reference"):
 * "all" for rollup's max_changes, "unchanged" for alter_segmentation and
 * create_version, "chosen" for estimate's time_col, key and sample_percent,
 * "no archive" for set_archive.  The C entry points do the same with
 * segroll_require_args() (src/rollup.c); the type's functions are STRICT.
 */
CREATE OR REPLACE FUNCTION @extschema@._require_arg(value anyelement, argument pg_catalog.text, routine pg_catalog.text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF value IS NULL THEN
		RAISE EXCEPTION 'argument "%" of % must not be null', argument, routine
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._require_arg(anyelement, pg_catalog.text, pg_catalog.text) IS
	'refuses a NULL argument of a public routine: null_value_not_allowed, naming the argument and the routine';
