-- Installing the first release and updating through every version gives
-- the same objects as a fresh install of the newest one.
CREATE EXTENSION IF NOT EXISTS pgtap;

CREATE TEMP TABLE members (how text, what text);
CREATE FUNCTION pg_temp.record_members(how text) RETURNS void LANGUAGE sql AS $$
	INSERT INTO pg_temp.members
	SELECT how, pg_describe_object(classid, objid, objsubid)
	FROM pg_depend
	WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segroll')
$$;

CREATE EXTENSION segroll VERSION '0.1.0';
SELECT pg_temp.record_members('0.1.0');
ALTER EXTENSION segroll UPDATE;
SELECT pg_temp.record_members('updated');
CREATE TEMP TABLE updated_version AS SELECT extversion FROM pg_extension WHERE extname = 'segroll';
DROP EXTENSION segroll;
CREATE EXTENSION segroll;
SELECT pg_temp.record_members('fresh');

SELECT plan(4);
SELECT is((SELECT extversion FROM updated_version),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'segroll'),
          'ALTER EXTENSION UPDATE reaches the default_version of segroll.control');
SELECT cmp_ok((SELECT count(*) FROM members WHERE how = '0.1.0'), '>', 40::bigint, '0.1.0 installs the type and aggregates');
SELECT bag_eq($$SELECT what FROM members WHERE how = 'updated'$$,
              $$SELECT what FROM members WHERE how = 'fresh'$$,
              'updated and fresh installs have the same objects');
SELECT is((SELECT segroll.count(segroll.segment_agg(g, now())) FROM generate_series(1, 10) g), 10::bigint,
          'the updated library serves the type');
SELECT * FROM finish();
