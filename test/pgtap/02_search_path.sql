-- Objects planted by an unprivileged role before and after installation
-- are never run by segroll, whatever the search_path.
CREATE EXTENSION IF NOT EXISTS pgtap;

CREATE ROLE segroll_tap_evil LOGIN;
CREATE SCHEMA evil AUTHORIZATION segroll_tap_evil;
GRANT CREATE ON SCHEMA public TO segroll_tap_evil;
CREATE TABLE public.tripwire (who text, what text);
GRANT INSERT ON public.tripwire TO segroll_tap_evil;

SET ROLE segroll_tap_evil;
-- same-named functions and operators, in public (planted before install) and in evil
CREATE FUNCTION public.numeric_in(text, oid, integer) RETURNS numeric LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO public.tripwire VALUES (current_user, 'public.numeric_in'); RETURN 0; END$$;
CREATE FUNCTION public.numeric_add(numeric, numeric) RETURNS numeric LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO public.tripwire VALUES (current_user, 'public.numeric_add'); RETURN 0; END$$;
CREATE FUNCTION evil.sum(anyelement, integer) RETURNS numeric LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO public.tripwire VALUES (current_user, 'evil.sum'); RETURN 0; END$$;
CREATE FUNCTION evil.int8_numeric(bigint) RETURNS numeric LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO public.tripwire VALUES (current_user, 'evil.int8_numeric'); RETURN 0; END$$;
CREATE FUNCTION evil.numeric_div(numeric, numeric) RETURNS numeric LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO public.tripwire VALUES (current_user, 'evil.numeric_div'); RETURN 0; END$$;
CREATE FUNCTION evil.texteq_evil(text, text) RETURNS bool LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO public.tripwire VALUES (current_user, 'evil.='); RETURN true; END$$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, PROCEDURE = evil.texteq_evil);
RESET ROLE;

SET search_path = evil, public;
CREATE EXTENSION segroll;

-- run segroll under the hostile path, then check with pgTAP under a clean one
-- (pgTAP's own functions do not pin their search_path)
CREATE TEMP TABLE results (n int, got text);
SET search_path = evil, public, pg_catalog;
INSERT INTO pg_temp.results
SELECT 1, segroll.sum(segroll.segment_agg(g, '2026-01-01', g * 1.5), 1)::text FROM generate_series(1, 3) g;
INSERT INTO pg_temp.results
SELECT 2, count(*)::text FROM (
	SELECT segroll.merge(s) FROM (SELECT segroll.segment_agg(g, '2026-01-01', g) s
	                              FROM generate_series(1, 100) g GROUP BY g % 3) x) y;
INSERT INTO pg_temp.results
SELECT 3, ('{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":""}'::segroll.segment)::text;
INSERT INTO pg_temp.results
SELECT 4, segroll.avg(segroll.segment_agg(g, '2026-01-01', g), 1)::text FROM generate_series(1, 3) g;
SET search_path = pg_catalog, public;
-- the planted operator is dropped first so that pgTAP itself is not fooled
DROP OPERATOR public.= (text, text);

SELECT plan(5);
SELECT is((SELECT got FROM pg_temp.results WHERE n = 1), '9.0',
          'sums computed with planted numeric functions in the path');
SELECT is((SELECT got FROM pg_temp.results WHERE n = 2), '1', 'merge runs with planted functions in the path');
SELECT is((SELECT got FROM pg_temp.results WHERE n = 3),
          '{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":""}',
          'text I/O unaffected');
SELECT is((SELECT got FROM pg_temp.results WHERE n = 4), '2.0000000000000000',
          'avg computed with planted numeric_div and int8_numeric in the path');
SELECT is((SELECT count(*)::int FROM public.tripwire), 0, 'no planted object ever ran');

SELECT * FROM finish();
