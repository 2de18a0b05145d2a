/*
 * Segmentations of Citus-distributed sources (issue 15, docs/citus.md).
 *
 * A hash-distributed source keeps its rows in shards on the nodes.  Its
 * segmentation's cells (and adjustments and lineage blocks) are distributed
 * the same way and co-located with it, by the dimension that is the
 * source's distribution column: every row of a cell is in the cell's own
 * shard group, so a roll-up is one INSERT ... SELECT ... ON CONFLICT that
 * Citus runs on each shard group, on the nodes, in one distributed
 * transaction with the progress (two-phase commit).
 *
 * Numbering.  The capture sequence is the default of segroll_seq, so Citus
 * creates it on every node, present and future, each node's copy drawing
 * from a range of 2^48 numbers of its own (node group g: g * 2^48 + 1 and
 * up).  The numbering trigger, which Citus gives every shard, runs on the
 * shard's node and takes the number there (capture.c finds that node's
 * copy), while the writer holds its lock on the shard.  So each node range
 * is numbered as a single-node source is, and a roll-up applies, range by
 * range, the window (applied_upto(g), U(g)] where U(g) is the range's last
 * number once the writers of that node's shards have ended
 * (_node_capture_upper: read, then wait, on that node).  A shard moved to
 * another node keeps its rows' numbers (Citus copies rows without firing
 * the trigger, which is enabled for origin sessions only, unlike a local
 * source's), and its new rows are numbered in its new node's range.
 *
 * Corrections.  An UPDATE gives the new version a number on its node, as
 * on one node; an UPDATE or DELETE logs the old version in the change log,
 * a distributed table co-located with the source (by segroll_shard_key, the
 * old version's distribution column), with its number and the number of
 * the change (an UPDATE's new version's, a new one for a DELETE).  The
 * trigger of a shard writes into the co-located shard of the log, on the
 * same node, in the writer's transaction, a statement at a time
 * (_colocated_shard).  A roll-up's window is then the changes numbered in
 * (applied_upto(g), U(g)] of every range g, and "applied before" is a
 * number within its own range's applied part: it retracts the logged old
 * versions whose change is in the window and that were applied before,
 * and adds the versions numbered in the window that are current, or that
 * a change after the window replaced (_rollup_distributed).  TRUNCATE is
 * refused (capture_truncate).
 * Dimensions must be columns of the source (no reference lookups), one of
 * them the distribution column.
 */

/*
 * The distribution column of src when Citus distributes it by hash, or null
 * for a table that Citus does not know (or without Citus).  Other kinds of
 * Citus tables are refused.
 */
CREATE OR REPLACE FUNCTION @extschema@._distribution_column(src pg_catalog.regclass)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	method text;
	col text;
BEGIN
	-- (not to_regclass(), which logs a DEBUG line for a missing name)
	IF NOT EXISTS (SELECT FROM pg_class c WHERE c.relname = 'pg_dist_partition'
	               AND c.relnamespace = 'pg_catalog'::regnamespace) THEN
		RETURN NULL;
	END IF;
	-- the names exist only where Citus is installed: not checked statically
	PERFORM 'PRAGMA:DISABLE:CHECK';
	EXECUTE $q$SELECT p.partmethod::pg_catalog.text,
	                  CASE WHEN p.partmethod OPERATOR(pg_catalog.=) 'h'
	                       THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END
	           FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1$q$
		INTO method, col USING src;
	PERFORM 'PRAGMA:ENABLE:CHECK';
	IF method IS NULL THEN
		RETURN NULL;
	END IF;
	IF method <> 'h' THEN
		RAISE EXCEPTION '"%" is a Citus reference or local table', src
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'segroll captures plain tables and tables that Citus distributes by hash.';
	END IF;
	RETURN col;
END
$$;
COMMENT ON FUNCTION @extschema@._distribution_column(pg_catalog.regclass) IS
	'the column Citus distributes a source by (hash), or null for a table Citus does not distribute';

/* Is this a Citus node other than the coordinator (where segroll's catalog is)? */
CREATE OR REPLACE FUNCTION @extschema@._on_citus_worker()
RETURNS pg_catalog.bool LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	g int4;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_class c WHERE c.relname = 'pg_dist_local_group'
	               AND c.relnamespace = 'pg_catalog'::regnamespace) THEN
		RETURN false;
	END IF;
	PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's catalog, only where it is installed
	EXECUTE 'SELECT g.groupid FROM pg_catalog.pg_dist_local_group g' INTO g;
	PERFORM 'PRAGMA:ENABLE:CHECK';
	RETURN coalesce(g, 0) <> 0;
END
$$;

/*
 * What a segmentation of a distributed source needs, checked before
 * anything is created: one shard placement per shard, every node with
 * Citus's metadata (the numbering trigger reads it on the shard's node),
 * not partitioned, and dimensions that are columns of the source, one of
 * them the distribution column.  Returns the name of that dimension (the
 * cells' distribution column).
 */
CREATE OR REPLACE FUNCTION @extschema@._check_distributed_source(src pg_catalog.regclass, dims pg_catalog.jsonb)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	col text := segroll._distribution_column(src);
	dim text;
	ok bool;
BEGIN
	IF (SELECT relkind FROM pg_class WHERE oid = src) = 'p' THEN
		RAISE EXCEPTION 'segmentations of distributed partitioned tables are not supported yet'
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'Define it over a distributed table that is not partitioned.';
	END IF;
	PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's catalog, only where it is installed
	EXECUTE $q$SELECT pg_catalog.count(*) OPERATOR(pg_catalog.=) pg_catalog.count(DISTINCT p.shardid)
	           FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_dist_placement p USING (shardid)
	           WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1$q$ INTO ok USING src;
	IF NOT ok THEN
		RAISE EXCEPTION 'the shards of "%" have more than one placement', src
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'Each node numbers the rows of the placements it holds; two placements of a shard would number a row twice.',
			      HINT = 'Distribute the source with citus.shard_replication_factor = 1.';
	END IF;
	EXECUTE $q$SELECT pg_catalog.bool_and(n.hasmetadata AND n.metadatasynced) FROM pg_catalog.pg_dist_node n
	           WHERE n.noderole OPERATOR(pg_catalog.=) 'primary' AND n.isactive$q$ INTO ok;
	PERFORM 'PRAGMA:ENABLE:CHECK';
	IF NOT coalesce(ok, false) THEN
		RAISE EXCEPTION 'every Citus node must have Citus''s metadata' USING ERRCODE = 'object_not_in_prerequisite_state',
			DETAIL = 'The numbering trigger of a shard finds its table in the metadata of the shard''s node.',
			HINT = 'Run SELECT start_metadata_sync_to_all_nodes().';
	END IF;
	IF EXISTS (SELECT FROM jsonb_array_elements(dims) d WHERE NOT d ? 'column') THEN
		RAISE EXCEPTION 'the dimensions of a segmentation of a distributed source must be columns of the source'
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'Reference lookups of a distributed source are not supported yet.';
	END IF;
	SELECT d->>'name' INTO dim FROM jsonb_array_elements(dims) d WHERE d->>'column' = col LIMIT 1;
	IF dim IS NULL THEN
		RAISE EXCEPTION 'the distribution column "%" of "%" must be a dimension of its segmentation', col, src
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'Cells are distributed by it, co-located with the source, so that each shard group rolls up its own rows.';
	END IF;
	RETURN dim;
END
$$;
COMMENT ON FUNCTION @extschema@._check_distributed_source(pg_catalog.regclass, pg_catalog.jsonb) IS
	'checks that a segmentation can be defined over a distributed source; returns the dimension cells are distributed by';

/*
 * (Re)creates the capture triggers of a distributed source and the logging
 * function they call, owned by the source's owner; _install_capture() for a
 * distributed source (see the top of this file): the numbering and logging
 * triggers on every shard, and the one that refuses TRUNCATE.
 */
CREATE OR REPLACE FUNCTION @extschema@._install_distributed_capture(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $add$
DECLARE
	r segroll.source;
	dist text := segroll._distribution_column(src);
	log regclass;
	key text;
	f_log text;
	tag text;
	t text;
BEGIN
	SELECT * INTO r FROM segroll.source WHERE relid = src;
	log := r.change_log;
	key := r.key_column;
	PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
	-- the logging function: the shard's own shard of the log, on its node.
	-- As the owner of the source (writers need no privilege on the log);
	-- the body names no OID (it survives pg_dump and restore)
	f_log := segroll._capture_function(src, 'log');
	tag := segroll._dollar_quote(concat_ws(' ', log, dist, key, f_log));
	-- statement by statement (each shard's statement on its node), the old
	-- versions from the statement's transition tables: one look-up of the
	-- log's shard and one INSERT a statement, not one a row
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- f_log: _capture_function() (%I); tag: a dollar quote no name holds
	EXECUTE format(replace($f$
CREATE OR REPLACE FUNCTION %1$s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
	log_shard pg_catalog.regclass := segroll._colocated_shard(TG_RELID, %2$L::pg_catalog.regclass);
	n_old pg_catalog.int8;
	n_logged pg_catalog.int8;
BEGIN
	IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
		-- each old version under its new version's number (the numbering
		-- trigger gave it), paired by the key and the distribution column
		EXECUTE pg_catalog.format('WITH logged AS (
			INSERT INTO %%s (segroll_shard_key, log_seq, old_seq, old)
			SELECT o.%3$I, n.segroll_seq, o.segroll_seq, pg_catalog.to_jsonb(o)
			FROM segroll_old o JOIN segroll_new n
			  ON n.%4$I OPERATOR(pg_catalog.=) o.%4$I AND n.%3$I OPERATOR(pg_catalog.=) o.%3$I
			RETURNING 1)
			SELECT (SELECT pg_catalog.count(*) FROM segroll_old), (SELECT pg_catalog.count(*) FROM logged)', log_shard)
			INTO n_old, n_logged;
		IF n_old OPERATOR(pg_catalog.<>) n_logged THEN
			RAISE EXCEPTION 'cannot change the key of a row of a distributed source of segmentations'
				USING ERRCODE = 'feature_not_supported',
				      DETAIL = 'An UPDATE''s old and new versions are paired by the key and the distribution column.',
				      HINT = 'Delete the row and insert it with its new key.';
		END IF;
	ELSE
		-- a DELETE: each old version under a new number, on this node
		EXECUTE pg_catalog.format('INSERT INTO %%s (segroll_shard_key, log_seq, old_seq, old)
			SELECT o.%3$I, pg_catalog.nextval(%%L::pg_catalog.regclass), o.segroll_seq, pg_catalog.to_jsonb(o)
			FROM segroll_old o', log_shard, segroll._capture_sequence(TG_RELID)::pg_catalog.text);
	END IF;
	RETURN NULL;
END
$body$$f$, '$body$', tag), f_log, log::text, dist, key);
	EXECUTE format('ALTER FUNCTION %s() OWNER TO %s', f_log, (SELECT relowner::regrole FROM pg_class WHERE oid = src));
	EXECUTE format('REVOKE EXECUTE ON FUNCTION %s() FROM PUBLIC', f_log);
	-- Citus gives triggers to shards only when told that they are safe
	PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
	FOREACH t IN ARRAY ARRAY['segroll_capture_number', 'segroll_capture_log_update', 'segroll_capture_log_delete',
	                         'segroll_capture_truncate'] LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', t, src);
	END LOOP;
	EXECUTE format('CREATE TRIGGER segroll_capture_number BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION segroll.capture_number()', src);
	EXECUTE format('CREATE TRIGGER segroll_capture_log_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS segroll_old NEW TABLE AS segroll_new
	                FOR EACH STATEMENT EXECUTE FUNCTION %s()', src, f_log);
	EXECUTE format('CREATE TRIGGER segroll_capture_log_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS segroll_old
	                FOR EACH STATEMENT EXECUTE FUNCTION %s()', src, f_log);
	EXECUTE format('CREATE TRIGGER segroll_capture_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION segroll.capture_truncate()', src);
END
$add$;
COMMENT ON FUNCTION @extschema@._install_distributed_capture(pg_catalog.regclass) IS
	'(re)creates the capture triggers of a distributed source and its logging function, owned by its owner';

/*
 * Distributes rel (a segmentation's cells, adjustments or lineage blocks,
 * or a source's change log) by its column col, co-located with the
 * distributed source src.
 */
CREATE OR REPLACE FUNCTION @extschema@._distribute_with_source(rel pg_catalog.regclass, src pg_catalog.regclass,
	col pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
DECLARE
	uniq regclass;
BEGIN
	/*
	 * A shard moved by logical replication (Citus's default) is published
	 * while it moves, and PostgreSQL refuses to update or delete the rows
	 * of a published table without a replica identity: a roll-up would
	 * fail until the move ends.  The unique index of the cells (dimensions,
	 * period) serves when its columns are NOT NULL; else the whole row.
	 */
	SELECT i.indexrelid INTO uniq FROM pg_index i
	WHERE i.indrelid = rel AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
	  AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = rel AND a.attnum = ANY (i.indkey) AND NOT a.attnotnull)
	ORDER BY i.indexrelid LIMIT 1;
	IF uniq IS NOT NULL THEN
		EXECUTE format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', rel, (SELECT relname FROM pg_class WHERE oid = uniq));
	ELSE
		EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', rel);
	END IF;
	PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
	PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's function, only where it is installed
	EXECUTE 'SELECT pg_catalog.create_distributed_table($1, $2, colocate_with => $3)'
		USING rel, col, src::text;
	PERFORM 'PRAGMA:ENABLE:CHECK';
END
$$;

/*
 * The relation of shard shardid of rel on this node, or null when this node
 * does not hold it.  By name, not through pg_class: Citus hides shards from
 * queries of pg_class in sessions other than its own, and a write through
 * a worker that holds a shard runs its triggers in the writer's session.
 */
CREATE OR REPLACE FUNCTION @extschema@._shard_relation(rel pg_catalog.regclass, shardid pg_catalog.int8)
RETURNS pg_catalog.regclass LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	parts text[];
BEGIN
	PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's function, only where it is installed
	EXECUTE 'SELECT pg_catalog.parse_ident(pg_catalog.shard_name($1, $2))' INTO parts USING rel, shardid;
	PERFORM 'PRAGMA:ENABLE:CHECK';
	RETURN to_regclass(format('%I.%I', (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	                                    WHERE c.oid = rel),
	                          parts[array_upper(parts, 1)]));
END
$$;

/*
 * The shard of rel that is co-located with shard (a shard of a table
 * distributed with rel), on this node: where the change log of a source's
 * shard is.  Called by the logging trigger of every shard, once a statement.
 */
CREATE OR REPLACE FUNCTION @extschema@._colocated_shard(shard pg_catalog.regclass, rel pg_catalog.regclass)
RETURNS pg_catalog.regclass LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	found regclass;
BEGIN
	PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's catalog, only where it is installed
	-- the same hash range of the same co-location group; the shard's id
	-- from its name as regclass gives it (not from pg_class: _shard_relation)
	EXECUTE $q$
		SELECT segroll._shard_relation($2, o.shardid)
		FROM pg_catalog.pg_dist_shard s
		JOIN pg_catalog.pg_dist_shard o ON o.logicalrelid OPERATOR(pg_catalog.=) $2
		                               AND o.shardminvalue OPERATOR(pg_catalog.=) s.shardminvalue
		WHERE s.shardid OPERATOR(pg_catalog.=) pg_catalog.substring($1::pg_catalog.text, '_([0-9]+)"?$')::pg_catalog.int8$q$
		INTO found USING shard, rel;
	PERFORM 'PRAGMA:ENABLE:CHECK';
	IF found IS NULL THEN
		RAISE EXCEPTION 'no shard of "%" beside "%" on this node', rel, shard::oid
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'The change log of a distributed source is distributed with it; Citus''s metadata on this node does not place the two together.';
	END IF;
	RETURN found;
END
$$;
COMMENT ON FUNCTION @extschema@._colocated_shard(pg_catalog.regclass, pg_catalog.regclass) IS
	'the shard of a table that is co-located with a given shard, on this Citus node';

/*
 * On one node: the last number the capture sequence of src gave on this
 * node, once every transaction that could still hold a number up to it has
 * ended.  Every number of this node's range is taken by the trigger of a
 * shard on this node, under a lock on the shard, so waiting for the
 * writers of every shard of src here (as wait_for_writers does for a local
 * source) is enough.  Called on every node by _capture_uppers().
 */
CREATE OR REPLACE FUNCTION @extschema@._node_capture_upper(src pg_catalog.regclass)
RETURNS pg_catalog.int8 LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	upper int8 := segroll._node_capture_last(src);
	shards regclass[];
BEGIN
	-- the shards here (_shard_relation: null for those of other nodes)
	PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's catalog, only where it is installed
	EXECUTE $q$SELECT pg_catalog.array_agg(segroll._shard_relation($1, s.shardid)) FROM pg_catalog.pg_dist_shard s
	           WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1$q$ INTO shards USING src;
	PERFORM 'PRAGMA:ENABLE:CHECK';
	PERFORM segroll.wait_for_writers(x.shard) FROM unnest(shards) x(shard) WHERE x.shard IS NOT NULL;
	-- the roll-up reads its window through the shards' capture (BRIN)
	-- indexes: summarized here, as a roll-up of a local source does
	-- (_summarize_capture), or every roll-up would read every page written
	-- since autovacuum last summarized them
	PERFORM segroll._summarize_capture(x.shard) FROM unnest(shards) x(shard) WHERE x.shard IS NOT NULL;
	RETURN upper;
END
$$;
COMMENT ON FUNCTION @extschema@._node_capture_upper(pg_catalog.regclass) IS
	'on one Citus node: the last capture number taken there, after waiting for the writers of the source''s shards there';

/* On one node: the last number the capture sequence of src gave on this node, without waiting. */
CREATE OR REPLACE FUNCTION @extschema@._node_capture_last(src pg_catalog.regclass)
RETURNS pg_catalog.int8 LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- not called yet: nothing taken, one below the range's first number
	RETURN segroll._capture_last(segroll._capture_sequence(src));
END
$$;

/*
 * Runs the node function fn (_node_capture_upper or _node_capture_last) on
 * every Citus node for src; returns each node's group and number.  A node
 * that does not answer stops the caller: its writers cannot be known.
 */
CREATE OR REPLACE FUNCTION @extschema@._capture_uppers(src pg_catalog.regclass, fn pg_catalog.text)
RETURNS TABLE (node_group pg_catalog.int4, upper pg_catalog.int8)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	ids int4[];
	oks bool[];
	results text[];
BEGIN
	IF fn NOT IN ('_node_capture_upper', '_node_capture_last') THEN
		RAISE EXCEPTION 'unknown node function "%"', fn USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's function, only where it is installed
	EXECUTE 'SELECT pg_catalog.array_agg(x.nodeid), pg_catalog.array_agg(x.success), pg_catalog.array_agg(x.result)
	         FROM pg_catalog.run_command_on_all_nodes($1) x'
		INTO ids, oks, results
		USING format('SELECT pg_catalog.concat(g.groupid, %L, segroll.%I(%L::pg_catalog.regclass)) FROM pg_catalog.pg_dist_local_group g',
		             ' ', fn, src::text);
	PERFORM 'PRAGMA:ENABLE:CHECK';
	FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
		IF NOT oks[i] THEN
			RAISE EXCEPTION 'Citus node % did not give the capture numbers of "%"', ids[i], src
				USING ERRCODE = 'connection_failure', DETAIL = results[i],
				      HINT = 'The roll-up applies nothing until every node answers; it is safe to retry.';
		END IF;
		node_group := split_part(results[i], ' ', 1)::int4;
		upper := split_part(results[i], ' ', 2)::int8;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@._capture_uppers(pg_catalog.regclass, pg_catalog.text) IS
	'the last capture number of a distributed source on each Citus node (node group, number)';

/* the number below the first of node group g's range: nothing applied yet */
CREATE OR REPLACE FUNCTION @extschema@._node_range_start(g pg_catalog.int4)
RETURNS pg_catalog.int8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT g::pg_catalog.int8 OPERATOR(pg_catalog.*) 281474976710656::pg_catalog.int8	-- 2^48, Citus's range
$$;

/* the change numbers of a distributed segmentation's source taken so far, summed over the node ranges */
CREATE OR REPLACE FUNCTION @extschema@._distributed_upper(def @extschema@.segmentation)
RETURNS pg_catalog.int8 LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT coalesce(pg_catalog.sum(u.upper OPERATOR(pg_catalog.-) @extschema@._node_range_start(u.node_group)), 0)::pg_catalog.int8
	FROM @extschema@._capture_uppers(def.source, '_node_capture_last') u
$$;

/*
 * A distributed segmentation's rows as the statements on its shard groups
 * read them: the dimensions with the distribution column's read from
 * segroll_shard_key (so Citus sees the statements meet the cells shard group
 * by shard group), and the change log as a FROM item l, each entry with its
 * old version as a row (l.r) made in the select list, which Citus pushes
 * down (a function in FROM it would not: _rollup_distributed says why
 * that matters).
 */
CREATE OR REPLACE FUNCTION @extschema@._shard_dims_sql(def @extschema@.segmentation)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN replace((segroll._sql(def)).dim_exprs, format('s.%I AS ', segroll._distribution_column(def.source)),
	               's.segroll_shard_key AS ');
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._shard_log_rows_sql(def @extschema@.segmentation)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN (SELECT format('(SELECT l.segroll_shard_key, l.log_seq, l.old_seq, pg_catalog.jsonb_populate_record(NULL::%s, l.old) AS r FROM %s l) l',
	                      s.relid, s.change_log)
	        FROM segroll.source s WHERE s.relid = def.source);
END
$$;

/*
 * The SQL of "change number col is in these parts of its node ranges":
 * for each group g of groups, above lowers[g] (default: the range's start)
 * and up to uppers[g].  Literal numbers only: the condition goes down to
 * the shards with the statement.
 */
CREATE OR REPLACE FUNCTION @extschema@._ranges_sql(col pg_catalog.text, groups pg_catalog.int4[], uppers pg_catalog.int8[],
	lowers pg_catalog.int8[] DEFAULT NULL)
RETURNS pg_catalog.text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT '(false' OPERATOR(pg_catalog.||) coalesce(pg_catalog.string_agg(pg_catalog.format(
	           ' OR (%1$s OPERATOR(pg_catalog.>) %2$s AND %1$s OPERATOR(pg_catalog.<=) %3$s)',
	           col, coalesce(lowers[i], @extschema@._node_range_start(groups[i])), uppers[i]), ''), '')
	       OPERATOR(pg_catalog.||) ')'
	FROM pg_catalog.generate_subscripts(groups, 1) i
	WHERE uppers[i] OPERATOR(pg_catalog.>) coalesce(lowers[i], @extschema@._node_range_start(groups[i]))
$$;

/*
 * The roll-up of a segmentation of a distributed source, called by
 * _rollup() with the progress row locked.  For each node range g with
 * numbers past applied_upto(g): the window (applied_upto(g), U(g)], U(g)
 * read on the node after its writers ended (at most max_changes numbers
 * per range).  Each statement below is pushed down by Citus to every
 * shard group: the cells' key holds the distribution column, and the rows
 * of the source and of its change log are matched to their cells by it:
 *   - when the window logged old versions, the ones it retracts (their
 *     change is in the window, and they were applied before it) are
 *     subtracted from their cells, and cells left without a row deleted;
 *   - the rows it adds (the versions numbered in it that are current, or
 *     that a change after it replaced) are merged into the cells by one
 *     INSERT ... SELECT ... ON CONFLICT;
 *   - cells whose min, max or distinct count a retraction left unknown are
 *     recomputed from their rows as the window leaves them;
 *   - a closed period's changes go to its adjustments instead.
 * Returns the rows applied: added and retracted.
 */
CREATE OR REPLACE FUNCTION @extschema@._rollup_distributed(def @extschema@.segmentation, max_changes pg_catalog.int8,
	t0 pg_catalog.timestamptz)
RETURNS pg_catalog.int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
	q segroll._segmentation_sql := segroll._sql(def);
	log regclass := (SELECT s.change_log FROM segroll.source s WHERE s.relid = def.source);
	dist text := segroll._distribution_column(def.source);
	node_groups int4[];
	node_uppers int8[];
	all_groups int4[];		-- every range: the nodes' now, and those rolled up before
	old_uppers int8[];		-- each range's applied_upto before this roll-up
	new_uppers int8[];		-- and after it
	hi int8;
	whole bool := true;
	upper_read_at timestamptz := clock_timestamp();
	closed_end timestamptz;
	added int8;
	retracted int8 := 0;
	n_cells int8;
	n_groups int8;
	p_lo timestamptz;
	p_hi timestamptz;
	from_total int8;
	to_total int8;
	logged bool;
	unknown bool := false;	-- a cell the retractions left with an unknown extreme
	shard_dims text;		-- the dimensions, the distribution column's from segroll_shard_key
	log_rows text;			-- FROM item l: log entries, each with its old version as a row (r)
	pos_sql text;
	neg_sql text;
	agg text;
	eq text := '';			-- cell c is the cell of x
	win_log text;
BEGIN
	-- in the transaction that added the capture (create_segmentation), which
	-- holds its ACCESS EXCLUSIVE lock on the source, every row carries 1,
	-- "there before the capture", in the coordinator's range (group 0); the
	-- nodes, which cannot see the capture before it commits, are not asked
	IF (SELECT segroll._in_current_xact(s.xmin) FROM segroll.source s WHERE s.relid = def.source) THEN
		node_groups := ARRAY[0];
		node_uppers := ARRAY[1::int8];
	ELSE
		SELECT array_agg(u.node_group ORDER BY u.node_group), array_agg(u.upper ORDER BY u.node_group)
		INTO node_groups, node_uppers
		FROM segroll._capture_uppers(def.source, '_node_capture_upper') u;
	END IF;
	SELECT array_agg(g.node_group ORDER BY g.node_group),
	       array_agg(coalesce(n.applied_upto, segroll._node_range_start(g.node_group)) ORDER BY g.node_group)
	INTO all_groups, old_uppers
	FROM (SELECT unnest(node_groups) AS node_group
	      UNION SELECT n.node_group FROM segroll.node_progress n WHERE n.name = def.name) g
	LEFT JOIN segroll.node_progress n ON n.name = def.name AND n.node_group = g.node_group;
	new_uppers := old_uppers;
	FOR i IN 1 .. array_length(all_groups, 1) LOOP
		hi := coalesce(node_uppers[array_position(node_groups, all_groups[i])], old_uppers[i]);
		IF max_changes IS NOT NULL AND hi > old_uppers[i] + max_changes THEN
			hi := old_uppers[i] + max_changes;
			whole := false;
		END IF;
		new_uppers[i] := greatest(hi, old_uppers[i]);
	END LOOP;
	SELECT sum(x.o - segroll._node_range_start(x.g)), sum(x.n - segroll._node_range_start(x.g))
	INTO from_total, to_total FROM unnest(all_groups, old_uppers, new_uppers) x(g, o, n);
	IF to_total = from_total THEN
		UPDATE segroll.progress p SET last_run_at = now(), last_applied = 0,
			last_run_ms = 1000 * extract(epoch FROM clock_timestamp() - t0),
			caught_up_at = upper_read_at, failures = 0
		WHERE p.name = def.name AND p.failures <> 0;
		RETURN 0;
	END IF;
	closed_end := coalesce((SELECT c.closed_upto FROM segroll.closed_period c WHERE c.name = def.name), '-infinity');

	agg := format('%s(%s, %s%s)',
	              CASE WHEN def.lineage THEN 'segroll.segment_agg' ELSE 'segroll.segment_agg_nolineage' END,
	              segroll._key_sql(def, format('s.%I', def.key_column)),
	              segroll._time_sql(def, format('s.%I', def.time_column)), q.meas);
	/*
	 * Rows of the source and logged old versions side by side (UNION ALL),
	 * each led by segroll_shard_key, the distribution column, from which
	 * the dimension of that column is read.  So Citus sees every statement
	 * read the source, the log and the cells shard group by shard group,
	 * and pushes it down whole: one statement, one snapshot per shard
	 * group.  (Were the UNION planned as two queries, a correction
	 * committed between them would be read in neither.)  The old version
	 * is made a row in the select list, not by a function in FROM, which
	 * Citus would not push down.
	 */
	shard_dims := segroll._shard_dims_sql(def);
	log_rows := segroll._shard_log_rows_sql(def);
	-- the distribution column's by =, which is how Citus sees that the
	-- cells and x (the source's and the log's rows) meet shard group by
	-- shard group (it is never null); the others null-safe
	FOR i IN 1 .. jsonb_array_length(def.dimensions) LOOP
		eq := eq || format(CASE WHEN def.dimensions->(i - 1)->>'column' = dist
		                        THEN 'c.%I OPERATOR(pg_catalog.=) x.segroll_d%s AND '
		                        ELSE 'c.%I IS NOT DISTINCT FROM x.segroll_d%s AND ' END,
		                   def.dimensions->(i - 1)->>'name', i);
	END LOOP;
	win_log := segroll._ranges_sql('l.log_seq', all_groups, new_uppers, old_uppers);	-- changes in the window
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- fragments of segroll._sql(); numbers; regclass; %I
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s l WHERE %s)', log,
	               win_log) INTO logged;
	-- what the window adds: the versions numbered in it that are current,
	-- and those that a change after it replaced
	pos_sql := format('(SELECT %s %s AS segroll_period, s.* FROM (SELECT s.%I AS segroll_shard_key, s.* FROM %s s WHERE %s',
	                  shard_dims, q.period, dist, def.source,
	                  segroll._ranges_sql('s.segroll_seq', all_groups, new_uppers, old_uppers));
	IF logged THEN
		pos_sql := pos_sql || format(' UNION ALL SELECT l.segroll_shard_key, (l.r).* FROM %s WHERE %s AND NOT %s',
		                             log_rows, segroll._ranges_sql('l.old_seq', all_groups, new_uppers, old_uppers),
		                             segroll._ranges_sql('l.log_seq', all_groups, new_uppers));
		-- what it retracts: old versions applied before it, replaced in it
		neg_sql := format('(SELECT %s %s AS segroll_period, s.* FROM (SELECT l.segroll_shard_key, (l.r).* FROM %s WHERE %s AND %s) s) s',
		                  shard_dims, q.period, log_rows,
		                  win_log,
		                  segroll._ranges_sql('l.old_seq', all_groups, old_uppers));
	END IF;
	pos_sql := pos_sql || ') s) s';
	EXECUTE format('SELECT pg_catalog.count(*) FROM %s', pos_sql) INTO added;

	IF logged THEN
		-- the rows it retracts, their periods, and the cells they are in
		-- (open periods): one pass over the window's log
		EXECUTE format($f$SELECT coalesce(pg_catalog.sum(x.n), 0), pg_catalog.min(x.p), pg_catalog.max(x.p),
		                       pg_catalog.count(*) FILTER (WHERE x.p OPERATOR(pg_catalog.>=) $1)
		                FROM (SELECT pg_catalog.count(*) AS n, s.segroll_period AS p FROM %s GROUP BY %s s.segroll_period) x$f$,
		               neg_sql, q.dim_names) INTO retracted, p_lo, p_hi, n_groups USING closed_end;
	END IF;
	IF retracted > 0 THEN
		IF closed_end > '-infinity' THEN
			EXECUTE format($f$INSERT INTO %s (%s period, added, removed, from_seq, to_seq)
			                SELECT %s s.segroll_period, NULL, %s, $2, $3 FROM %s
			                WHERE s.segroll_period OPERATOR(pg_catalog.<) $1 GROUP BY %s s.segroll_period$f$,
			               segroll._adjustments(def), q.cell_cols, q.dim_names, agg, neg_sql, q.dim_names)
				USING closed_end, from_total, to_total;
		END IF;
		-- retract first (an updated row's new version may land in the same
		-- cell); retracting from a missing cell is an error, never a no-op
		EXECUTE format($f$UPDATE %s c SET seg = segroll.subtract(c.seg, x.seg)
		                FROM (SELECT %s s.segroll_period, %s AS seg FROM %s
		                      WHERE s.segroll_period OPERATOR(pg_catalog.>=) $1 GROUP BY %s s.segroll_period) x
		                WHERE %s c.period OPERATOR(pg_catalog.=) x.segroll_period$f$,
		               def.cells, q.dim_names, agg, neg_sql, q.dim_names, eq)
			USING closed_end;
		GET DIAGNOSTICS n_cells = ROW_COUNT;
		IF n_cells <> n_groups THEN
			RAISE EXCEPTION 'segmentation "%" cannot retract corrected rows: % of the cells they were rolled up into are missing',
				def.name, n_groups - n_cells
				USING ERRCODE = 'data_exception',
				      HINT = format('Rebuild the cells from the source with SELECT segroll.rebuild(%L).', def.name);
		END IF;
		-- cells left without a row, among those it retracted from (only
		-- their segments are read)
		EXECUTE format($f$DELETE FROM %s c
		                USING (SELECT %s s.segroll_period FROM %s WHERE s.segroll_period OPERATOR(pg_catalog.>=) $1
		                       GROUP BY %s s.segroll_period) x
		                WHERE %s c.period OPERATOR(pg_catalog.=) x.segroll_period
		                  AND segroll.count(c.seg) OPERATOR(pg_catalog.=) 0$f$,
		               def.cells, q.dim_names, neg_sql, q.dim_names, eq)
			USING closed_end;
	END IF;
	IF closed_end > '-infinity' THEN
		-- a closed period's cells stay as they were closed (as in apply_sql.sql)
		EXECUTE format($f$INSERT INTO %s (%s period, added, removed, from_seq, to_seq)
		                SELECT %s s.segroll_period, %s, NULL, $2, $3 FROM %s
		                WHERE s.segroll_period OPERATOR(pg_catalog.<) $1 GROUP BY %s s.segroll_period$f$,
		               segroll._adjustments(def), q.cell_cols, q.dim_names, agg, pos_sql, q.dim_names)
			USING closed_end, from_total, to_total;
	END IF;
	EXECUTE format($f$INSERT INTO %s AS c (%s period, seg)
	                SELECT %s s.segroll_period, %s FROM %s
	                WHERE s.segroll_period OPERATOR(pg_catalog.>=) $1 GROUP BY %s s.segroll_period
	                ON CONFLICT (%s period) DO UPDATE SET seg = segroll.merge(c.seg, excluded.seg)$f$,
	               def.cells, q.cell_cols, q.dim_names, agg, pos_sql, q.dim_names, q.cell_cols)
		USING closed_end;
	-- a cell whose min, max or distinct count is unknown now (the last row
	-- at an extreme was retracted): recomputed from the rows of its period
	-- as the window leaves them, the current versions applied and the old
	-- versions a later change replaced
	IF retracted > 0 THEN
		EXECUTE format($f$SELECT EXISTS (SELECT 1 FROM %s c WHERE c.period OPERATOR(pg_catalog.>=) $1
		                  AND c.period OPERATOR(pg_catalog.<=) $2
		                  AND NOT (segroll.minmax_known(c.seg) AND segroll.distinct_known(c.seg)))$f$, def.cells)
			INTO unknown USING p_lo, p_hi;
	END IF;
	IF unknown THEN
		EXECUTE format($f$UPDATE %1$s c SET seg = x.seg
		    FROM (SELECT %2$s s.segroll_period, %3$s AS seg
		          FROM (SELECT %4$s %5$s AS segroll_period, s.* FROM (
		                  SELECT s.%6$I AS segroll_shard_key, s.* FROM %7$s s WHERE %8$s AND %9$s
		                  UNION ALL
		                  SELECT l.segroll_shard_key, (l.r).* FROM %10$s WHERE %11$s AND NOT %12$s AND %13$s) s) s
		          GROUP BY %2$s s.segroll_period) x
		    WHERE %14$s c.period OPERATOR(pg_catalog.=) x.segroll_period
		      AND c.period OPERATOR(pg_catalog.>=) $1 AND c.period OPERATOR(pg_catalog.<=) $2
		      AND NOT (segroll.minmax_known(c.seg) AND segroll.distinct_known(c.seg))$f$,
		    def.cells, q.dim_names, agg, shard_dims, q.period, dist, def.source,
		    segroll._ranges_sql('s.segroll_seq', all_groups, new_uppers),
		    segroll._time_range_sql(def, format('s.%I', def.time_column), '$1', segroll._next_period_sql(def, '$2')),
		    log_rows, segroll._ranges_sql('l.old_seq', all_groups, new_uppers),
		    segroll._ranges_sql('l.log_seq', all_groups, new_uppers),
		    segroll._time_range_sql(def, format('(l.r).%I', def.time_column), '$1', segroll._next_period_sql(def, '$2')),
		    eq)
			USING p_lo, p_hi;
	END IF;

	INSERT INTO segroll.node_progress AS n (name, node_group, applied_upto)
	SELECT def.name, x.g, x.n FROM unnest(all_groups, new_uppers) x(g, n)
	WHERE x.n > segroll._node_range_start(x.g)
	ON CONFLICT (name, node_group) DO UPDATE SET applied_upto = excluded.applied_upto;
	-- log entries every segmentation of the source has applied are done with
	IF logged THEN
		EXECUTE format('DELETE FROM %s l WHERE %s', log, (
			SELECT segroll._ranges_sql('l.log_seq', array_agg(m.g), array_agg(m.upto))
			FROM (SELECT x.g, min(coalesce(n.applied_upto, segroll._node_range_start(x.g))) AS upto
			      FROM unnest(all_groups) x(g)
			      CROSS JOIN segroll.segmentation s
			      LEFT JOIN segroll.node_progress n ON n.name = s.name AND n.node_group = x.g
			      WHERE s.source = def.source
			      GROUP BY x.g) m));
	END IF;
	UPDATE segroll.progress p
	SET applied_upto = to_total, last_run_at = now(), last_applied = added + retracted,
	    total_applied = p.total_applied + added + retracted,
	    last_run_ms = 1000 * extract(epoch FROM clock_timestamp() - t0),
	    caught_up_at = CASE WHEN whole THEN upper_read_at ELSE p.caught_up_at END,
	    failures = 0
	WHERE p.name = def.name;
	INSERT INTO segroll.run_history (name, started_at, duration_ms, applied, from_seq, to_seq)
	VALUES (def.name, t0, 1000 * extract(epoch FROM clock_timestamp() - t0), added + retracted, from_total, to_total);
	RETURN added + retracted;
END
$$;
COMMENT ON FUNCTION @extschema@._rollup_distributed(@extschema@.segmentation, pg_catalog.int8, pg_catalog.timestamptz) IS
	'the roll-up of a segmentation of a Citus-distributed source, node range by node range; called by _rollup()';

/*
 * The condition that the change numbered col has been rolled up, as SQL:
 * col <= upto on a plain source; on a distributed source, col up to its
 * node range's applied_upto (node_progress, read when the statement runs
 * by an uncorrelated subquery, which Citus runs once on the coordinator).
 */
CREATE OR REPLACE FUNCTION @extschema@._applied_sql(def @extschema@.segmentation, col pg_catalog.text, upto pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	-- found by its cells: renaming the segmentation renames its rows
	seg_name text := format('(SELECT g.name FROM segroll.segmentation g WHERE g.cells OPERATOR(pg_catalog.=) %L::pg_catalog.regclass)',
	                        def.cells::text);
BEGIN
	IF segroll._distribution_column(def.source) IS NULL THEN
		RETURN format('%s OPERATOR(pg_catalog.<=) %s', col, upto);
	END IF;
	RETURN format($f$%1$s OPERATOR(pg_catalog.<=) coalesce(
	(SELECT pg_catalog.array_agg(coalesce(n.applied_upto, segroll._node_range_start(x.g)) ORDER BY x.g)
	 FROM pg_catalog.generate_series(0, (SELECT pg_catalog.max(m.node_group) FROM segroll.node_progress m
	                                     WHERE m.name OPERATOR(pg_catalog.=) %2$s)) x(g)
	 LEFT JOIN segroll.node_progress n ON n.node_group OPERATOR(pg_catalog.=) x.g AND n.name OPERATOR(pg_catalog.=) %2$s)
	[(%1$s OPERATOR(pg_catalog.>>) 48)::pg_catalog.int4 OPERATOR(pg_catalog.+) 1],
	segroll._node_range_start((%1$s OPERATOR(pg_catalog.>>) 48)::pg_catalog.int4))$f$, col, seg_name);
END
$$;
COMMENT ON FUNCTION @extschema@._applied_sql(@extschema@.segmentation, pg_catalog.text, pg_catalog.text) IS
	'SQL that is true when a change number has been rolled up into a segmentation''s cells (per node range on a distributed source)';

/* Has the change numbered seq been rolled up into def's cells? */
CREATE OR REPLACE FUNCTION @extschema@._is_applied(def @extschema@.segmentation, seq pg_catalog.int8)
RETURNS pg_catalog.bool LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF segroll._distribution_column(def.source) IS NULL THEN
		RETURN seq <= (SELECT p.applied_upto FROM segroll.progress p WHERE p.name = def.name);
	END IF;
	RETURN seq <= coalesce((SELECT n.applied_upto FROM segroll.node_progress n
	                        WHERE n.name = def.name AND n.node_group = (seq >> 48)::int4),
	                       segroll._node_range_start((seq >> 48)::int4));
END
$$;
