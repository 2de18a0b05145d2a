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

SELECT plan(5);

SET search_path = evil, public, pg_catalog;
SELECT is((SELECT segroll.sum(segroll.segment_agg(g, '2026-01-01', g * 1.5), 1) FROM generate_series(1, 3) g), 9.0,
          'sums computed with planted numeric functions in the path');
SELECT is((SELECT count(*)::int FROM (
             SELECT segroll.merge(s) FROM (SELECT segroll.segment_agg(g, '2026-01-01', g) s
                                           FROM generate_series(1, 100) g GROUP BY g % 3) x) y), 1,
          'merge runs with planted functions in the path');
SELECT is(('{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":""}'::segroll.segment)::text
          LIKE '{"version":1%', true, 'text I/O unaffected');
SELECT is((SELECT segroll.avg(segroll.segment_agg(g, '2026-01-01', g), 1) FROM generate_series(1, 3) g), 2.0,
          'avg computed with planted numeric_div and int8_numeric in the path');
SELECT is((SELECT count(*)::int FROM public.tripwire), 0, 'no planted object ever ran');

SELECT * FROM finish();
