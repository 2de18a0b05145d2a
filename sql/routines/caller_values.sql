/*
 * trace, cell and locate run as their caller, so the SQL they run must
 * evaluate nothing that another role wrote (docs/security.md, "Trace runs as
 * the caller").  A value can bring such code along through its type: a
 * domain's CHECK constraints run when a value is cast to the domain, a cast
 * that the type's owner created runs when a value is cast to or from the
 * type (to json too: to_json and jsonb_build_object use a type's cast to
 * json), and an operator is looked up among casts the type's owner may have
 * added.  Built-in types have none of that: only a superuser can create or
 * change their casts and operators, and reading a domain's value as its base
 * type evaluates no constraint.  So:
 *   - a value whose type is built in, or a domain over a built-in type at any
 *     depth, is compared as that built-in base type, with pg_catalog's
 *     operator, and shown in json as itself (json looks through domains);
 *   - a value of any other type (an enum, composite, range or array type that
 *     some role created, an extension's type) is compared and shown as its
 *     text, which its type's output function writes (C, installed by a
 *     superuser): what a SELECT shows.  No cast of it, from it or to it.
 */

/*
 * The built-in type that values of type t are: t itself, or the base type
 * under any depth of domains, when that type was created by initdb (its OID
 * is below FirstNormalObjectId, 16384); null for any other type.
 */
CREATE OR REPLACE FUNCTION @extschema@._builtin_base(t pg_catalog.regtype)
RETURNS pg_catalog.regtype AS 'MODULE_PATHNAME', 'segroll_builtin_base'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

/*
 * The SQL that shows expr (of type t) to the caller: expr itself when t is
 * built in (or a domain over a built-in type), otherwise its text (null
 * stays null), which runs only t's output function.
 */
CREATE OR REPLACE FUNCTION @extschema@._shown_sql(expr pg_catalog.text, t pg_catalog.regtype)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN @extschema@._builtin_base(t) IS NOT NULL THEN expr
	            ELSE pg_catalog.format('CASE WHEN pg_catalog.num_nulls(%1$s) OPERATOR(pg_catalog.=) 0 THEN pg_catalog.format(%2$L, %1$s) END',
	                                   expr, '%s') END
$$;

/*
 * The SQL that compares a (of type a_type) with b (of type b_type) for a
 * routine that runs as its caller: as the built-in base type of a with
 * pg_catalog's "=" when both types are built in (then the operator and any
 * cast it needs are the system's), otherwise as text.  With nulls_match,
 * null equals null (IS NOT DISTINCT FROM, which would look "=" up by name).
 */
CREATE OR REPLACE FUNCTION @extschema@._caller_eq_sql(a pg_catalog.text, a_type pg_catalog.regtype,
	b pg_catalog.text, b_type pg_catalog.regtype, nulls_match pg_catalog.bool)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN base IS NOT NULL AND @extschema@._builtin_base(b_type) IS NOT NULL
	            THEN pg_catalog.format('%s::%s OPERATOR(pg_catalog.=) %s::%s', a, pg_catalog.format_type(base, -1),
	                                   b, pg_catalog.format_type(base, -1))
	            ELSE pg_catalog.format('%s OPERATOR(pg_catalog.=) %s', @extschema@._shown_sql(a, a_type),
	                                   @extschema@._shown_sql(b, b_type)) END
	       OPERATOR(pg_catalog.||)
	       CASE WHEN nulls_match
	            THEN pg_catalog.format(' OR pg_catalog.num_nulls(%s, %s) OPERATOR(pg_catalog.=) 2', a, b)
	            ELSE '' END
	FROM (SELECT @extschema@._builtin_base(a_type) AS base) x
$$;
