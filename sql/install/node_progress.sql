/*
 * Progress per node range (issue 15).  A segmentation of a Citus-distributed
 * source (distributed.sql) numbers its changes on each node from a range of
 * 2^48 numbers of that node's own (node group g: g * 2^48 + 1 and up), so
 * it applies them node range by node range: up to applied_upto in each.
 * progress.applied_upto is then the number of change numbers applied,
 * summed over the ranges.  New in 0.5.0: the update from 0.4.0 creates it
 * as the install script does (UPDATE_NEW_SQL in the Makefile).
 */
CREATE TABLE @extschema@.node_progress (
	name          pg_catalog.text NOT NULL
	              REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	node_group    pg_catalog.int4 NOT NULL,		-- pg_dist_node.groupid
	applied_upto  pg_catalog.int8 NOT NULL,
	PRIMARY KEY (name, node_group)
);
COMMENT ON TABLE @extschema@.node_progress IS
	'roll-up progress of segmentations of distributed sources, per node range of change numbers';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.node_progress', '');

/* node_progress: as progress, through the segmentation's owner */
ALTER TABLE @extschema@.node_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY node_progress_read ON @extschema@.node_progress FOR SELECT USING (true);
CREATE POLICY node_progress_owner ON @extschema@.node_progress
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) node_progress.name), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) node_progress.name), 'MEMBER'));
