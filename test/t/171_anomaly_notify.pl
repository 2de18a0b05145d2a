# Anomaly flags evaluated after each roll-up and announced with NOTIFY
# (issue 16): a listener hears one message per roll-up that recorded new
# flags, from the background worker (a continuous segmentation) and from a
# manual segroll.rollup(), both running as the segmentation's owner, who is
# no superuser; a roll-up that records nothing new sends nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('anomaly_notify');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'segroll'
segroll.naptime = 100ms
});
$node->start;

# five weeks of days before today (UTC), channels a, b and c; channel b
# doubles yesterday, the last day that ended.  Owned by etl, an admin.
$node->safe_psql('postgres', q{
	CREATE EXTENSION segroll;
	CREATE ROLE etl LOGIN IN ROLE segroll_admin;
	CREATE ROLE watcher LOGIN;
	GRANT CREATE ON SCHEMA public TO etl;
});
for my $t ('tx_live', 'tx_manual')
{
	$node->safe_psql('postgres', qq{
		SET ROLE etl;
		SET TimeZone = 'UTC';
		CREATE TABLE $t (id bigint PRIMARY KEY, ts timestamptz NOT NULL, channel text NOT NULL, amount numeric NOT NULL);
		INSERT INTO $t
		SELECT row_number() OVER (ORDER BY d DESC, ch, i), date_trunc('day', now()) - d * interval '1 day' + i * interval '1 minute', ch, 100 + i % 5
		FROM unnest(ARRAY['a', 'b', 'c']) ch, generate_series(1, 35) d,
		     generate_series(1, (20 + d % 3) * CASE WHEN ch = 'b' AND d = 1 THEN 2 ELSE 1 END) i;
	});
}
$node->safe_psql('postgres', q{
	SET ROLE etl;
	SELECT segroll.create_segmentation('live_daily', 'tx_live', 'id', 'ts', 'day', 'UTC', '{channel}', '{amount}',
	                                   schedule => 'continuous');
	SELECT segroll.create_segmentation('manual_daily', 'tx_manual', 'id', 'ts', 'day', 'UTC', '{channel}', '{amount}');
	SELECT segroll.set_anomaly_detection(n, threshold => 5, weeks => 4, evaluate_after_rollup => true, notify => true)
	FROM unnest(ARRAY['live_daily', 'manual_daily']) n;
});
# a listener that is neither the owner nor a superuser
my $listener = $node->background_psql('postgres', extra_params => [ '-U', 'watcher' ]);
$listener->query_safe('LISTEN segroll_anomaly');

# the notifications the listener has received so far
sub heard
{
	my @msgs;
	my $out = $listener->query_safe('SELECT 1');
	while ($out =~ /Asynchronous notification "segroll_anomaly" with payload "(.*)" received/g)
	{
		push @msgs, decode_json($1);
	}
	return @msgs;
}

# the worker: a sale today, rolled up by the worker, evaluates yesterday
$node->safe_psql('postgres', q{SET ROLE etl; INSERT INTO tx_live VALUES (100001, date_trunc('day', now()), 'a', 100)});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM segroll.anomaly_history WHERE segmentation = 'live_daily'}),
	'the worker records the two flagged figures of yesterday');
my @msgs;
for (1 .. 100)
{
	push @msgs, heard();
	last if @msgs;
	usleep(50_000);
}
is(scalar @msgs, 1, 'one notification for the roll-up');
is($msgs[0]{segmentation}, 'live_daily', 'it names the segmentation');
is($msgs[0]{flags}, 2, 'and counts the new flags');
my $newest = $node->safe_psql('postgres', qq{SELECT '$msgs[0]{newest_period}'::timestamptz = date_trunc('day', now()) - interval '1 day'});
is($newest, 't', "the newest period is yesterday ($msgs[0]{newest_period})");
is($node->safe_psql('postgres', q{
		SELECT string_agg(figure || ' ' || (dimensions->>'channel'), ', ' ORDER BY figure) FROM segroll.anomaly_history
		WHERE segmentation = 'live_daily'}),
	'amount_sum b, count b', 'exactly the injected anomaly: count and amount of channel b');

# another sale today: the worker rolls it up, nothing new, nothing sent
$node->safe_psql('postgres', q{SET ROLE etl; INSERT INTO tx_live VALUES (100002, date_trunc('day', now()), 'b', 100)});
ok($node->poll_query_until('postgres', q{SELECT pending_changes = 0 FROM segroll.status WHERE name = 'live_daily'}),
	'the worker rolls the second sale up');
usleep(300_000);
is(scalar(heard()), 0, 'no notification for a roll-up that records nothing new');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.anomaly_history WHERE segmentation = 'live_daily'}), '2',
	'still two flags recorded');

# a manual roll-up by the owner: the notification reaches the listener once
# the roll-up commits, and psql shows it to the owner's session too
$node->safe_psql('postgres', q{SET ROLE etl; INSERT INTO tx_manual VALUES (100001, date_trunc('day', now()), 'a', 100)});
my $own = $node->safe_psql('postgres', q{
	LISTEN segroll_anomaly;
	SET ROLE etl;
	SELECT segroll.rollup('manual_daily');
});
like($own, qr/Asynchronous notification "segroll_anomaly" with payload "\{"segmentation" : "manual_daily", "flags" : 2, /,
	'the session that rolled up hears its own notification');
@msgs = heard();
is(scalar @msgs, 1, 'the listener hears the manual roll-up once');
is($msgs[0]{segmentation} // '', 'manual_daily', 'naming manual_daily');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.anomaly_log WHERE segmentation = 'manual_daily'}), '2',
	'the manual roll-up recorded two flags');
# the listener may not read the cells: it hears of flags, it does not read them
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.anomaly_log}, extra_params => [ '-U', 'watcher' ]), '0',
	'a role that may not read the cells reads no flags');

# a roll-up whose evaluation is off sends nothing
$node->safe_psql('postgres', q{SET ROLE etl; SELECT segroll.set_anomaly_detection('manual_daily', threshold => 5, weeks => 4)});
$node->safe_psql('postgres', q{UPDATE segroll.anomaly_setting SET evaluated_upto = NULL; DELETE FROM segroll.anomaly_history});
$node->safe_psql('postgres', q{SET ROLE etl; INSERT INTO tx_manual VALUES (100002, date_trunc('day', now()), 'a', 100);
	SELECT segroll.rollup('manual_daily')});
is(scalar(heard()), 0, 'evaluation off: no notification');
is($node->safe_psql('postgres', q{SELECT count(*) FROM segroll.anomaly_history WHERE segmentation = 'manual_daily'}), '0',
	'evaluation off: nothing recorded');

$listener->quit;
$node->stop;
done_testing();
