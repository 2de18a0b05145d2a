/* segroll 0.3.0 -> 0.4.0: trace and reconcile; segmentation governance */

\echo Use "ALTER EXTENSION segroll UPDATE TO '0.4.0'" to load this file. \quit

/* ==================================================== trace and reconcile */

/* ============================================ governance: what-if volume */
