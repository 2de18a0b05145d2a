/*
 * segroll 0.4.0 -> 0.5.0, after the routines: what needs the routines'
 * data (the rows of segroll.grain).
 */
ALTER TABLE @extschema@.segmentation ADD FOREIGN KEY (grain) REFERENCES @extschema@.grain (name);
