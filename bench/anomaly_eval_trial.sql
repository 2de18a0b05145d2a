-- one trial of bench/anomaly_eval.sql: :mode, :reset (clear evaluated_upto first)
\if :reset
UPDATE segroll.anomaly_setting SET evaluated_upto = NULL WHERE segmentation = 'anom_eval';
DELETE FROM segroll.anomaly_history WHERE segmentation = 'anom_eval';
\endif
:trial;
SELECT clock_timestamp() AS t0 \gset
SELECT segroll.rollup('anom_eval') AS applied \gset
INSERT INTO timing SELECT :'mode', 1000 * extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);
