/*
 * Three duties, three roles (cluster-wide, so created only if missing; DROP
 * EXTENSION leaves them):
 *	segroll_reader   reads cells and BI views;
 *	segroll_auditor  traces, locates and verifies, reads the trace log;
 *	segroll_admin    defines, rolls up, repairs, purges, and is both of
 *	                 the others.
 * What each may execute and read is in privileges.sql.
 */
DO $$
DECLARE
	group_role pg_catalog.text;
	member_role pg_catalog.text;
BEGIN
	IF pg_catalog.to_regrole('segroll_reader') IS NULL THEN
		CREATE ROLE segroll_reader NOLOGIN;
	END IF;
	IF pg_catalog.to_regrole('segroll_auditor') IS NULL THEN
		CREATE ROLE segroll_auditor NOLOGIN;
	END IF;
	IF pg_catalog.to_regrole('segroll_admin') IS NULL THEN
		CREATE ROLE segroll_admin NOLOGIN;
	END IF;
	-- direct memberships, granted only when missing (an update re-applies
	-- this file, and GRANT of an existing membership is not silent)
	FOR group_role, member_role IN VALUES ('segroll_reader', 'segroll_auditor'),
	                                          ('segroll_reader', 'segroll_admin'),
	                                          ('segroll_auditor', 'segroll_admin') LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members m
		               WHERE m.roleid OPERATOR(pg_catalog.=) pg_catalog.to_regrole(group_role)
		                 AND m.member OPERATOR(pg_catalog.=) pg_catalog.to_regrole(member_role)) THEN
			EXECUTE pg_catalog.format('GRANT %I TO %I', group_role, member_role);
		END IF;
	END LOOP;
END
$$;
COMMENT ON ROLE segroll_reader IS 'segroll: reads cells and their views';
COMMENT ON ROLE segroll_auditor IS 'segroll: traces figures to source rows, verifies cells, reads the trace log';
COMMENT ON ROLE segroll_admin IS 'segroll: defines and operates segmentations';
