/*
 * test-queue-policy.c - retry schedule, next hops, MX verdicts, outcomes.
 */
#include "queue/queue-policy.h"

#include <string.h>

#include "core/test.h"

static void
test_backoff(void)
{
	struct queue_policy p;
	int64_t arrival = 1000000;

	queue_policy_init_default(&p);
	T_INTEQ(queue_next_attempt(&p, arrival, arrival, 1), arrival + 300);
	T_INTEQ(queue_next_attempt(&p, arrival, arrival, 2), arrival + 600);
	T_INTEQ(queue_next_attempt(&p, arrival, arrival, 3), arrival + 1200);
	T_INTEQ(queue_next_attempt(&p, arrival, arrival, 7), arrival + 14400);
	T_INTEQ(queue_next_attempt(&p, arrival, arrival, 4000000000u), arrival + 14400);
	/* near the end of the lifetime: one last try right at expiry */
	T_INTEQ(queue_next_attempt(&p, arrival, arrival + 432000 - 100, 30), arrival + 432000);
	T_ASSERT(!queue_expired(&p, arrival, arrival + 431999));
	T_ASSERT(queue_expired(&p, arrival, arrival + 432000));
	T_ASSERT(!queue_delay_warning_due(&p, arrival, arrival + 14399));
	T_ASSERT(queue_delay_warning_due(&p, arrival, arrival + 14400));
	T_ASSERT(!queue_delay_warning_due(&p, arrival, arrival + 432000));
	p.delay_warning = 0;
	T_ASSERT(!queue_delay_warning_due(&p, arrival, arrival + 20000));
}

static void
test_nexthop(void)
{
	struct queue_nexthop hop;
	const char *error = NULL;

	T_INTEQ(queue_nexthop_parse("Bob@Example.ORG", &hop, &error), 0);
	T_ASSERT(!hop.literal);
	T_STREQ(hop.domain, "example.org");
	T_INTEQ(queue_nexthop_parse("\"a@b\"@example.net", &hop, &error), 0);
	T_STREQ(hop.domain, "example.net");
	T_INTEQ(queue_nexthop_parse("u@[192.0.2.7]", &hop, &error), 0);
	T_ASSERT(hop.literal);
	T_STREQ(hop.domain, "192.0.2.7");
	T_INTEQ(queue_nexthop_parse("u@[IPv6:2001:db8::1]", &hop, &error), 0);
	T_ASSERT(hop.literal);
	T_STREQ(hop.domain, "2001:db8::1");
	T_INTEQ(queue_nexthop_parse("u@[300.1.1.1]", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("u@[IPv6:192.0.2.1]", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("u@[192.0.2.1", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("u@[]", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("nodomain", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("u@", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("@x.org", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("u@exa mple.org", &hop, &error), -1);
	T_INTEQ(queue_nexthop_parse("u@exa/mple.org", &hop, &error), -1);
}

static void
test_route(void)
{
	struct dns_mx mx[2] = { { 10, (char *)"mx1.example.org" }, { 20, (char *)"mx2.example.org" } };
	struct dns_mx null_mx = { 0, (char *)"." };
	struct dns_result res;
	struct queue_route r;

	memset(&res, 0, sizeof(res));
	res.type = DNS_TYPE_MX;
	res.status = DNS_OK;
	res.security = DNS_SEC_SECURE;
	res.mx = mx;
	res.count = 2;
	queue_route_from_mx(&res, &r);
	T_INTEQ(r.verdict, QUEUE_ROUTE_HOSTS);
	T_INTEQ(r.count, 2);
	T_STREQ(r.hosts[0], "mx1.example.org");
	T_STREQ(r.hosts[1], "mx2.example.org");
	T_ASSERT(r.secure);
	queue_route_deinit(&r);

	res.mx = &null_mx;
	res.count = 1;
	res.null_mx = true;
	queue_route_from_mx(&res, &r);
	T_INTEQ(r.verdict, QUEUE_ROUTE_PERMFAIL);
	T_STREQ(r.dsn, "5.1.10");
	queue_route_deinit(&r);

	memset(&res, 0, sizeof(res));
	res.status = DNS_NODATA;
	queue_route_from_mx(&res, &r);
	T_INTEQ(r.verdict, QUEUE_ROUTE_IMPLICIT);
	res.status = DNS_NXDOMAIN;
	queue_route_from_mx(&res, &r);
	T_INTEQ(r.verdict, QUEUE_ROUTE_PERMFAIL);
	T_STREQ(r.dsn, "5.1.2");
	res.status = DNS_TEMPFAIL;
	queue_route_from_mx(&res, &r);
	T_INTEQ(r.verdict, QUEUE_ROUTE_TEMPFAIL);
	T_STREQ(r.dsn, "4.4.3");
	res.status = DNS_TIMEOUT;
	queue_route_from_mx(&res, &r);
	T_INTEQ(r.verdict, QUEUE_ROUTE_TEMPFAIL);
	/* a bogus answer comes as TEMPFAIL from dns/: deferred, never used */
	res.status = DNS_TEMPFAIL;
	res.security = DNS_SEC_BOGUS;
	queue_route_from_mx(&res, &r);
	T_INTEQ(r.verdict, QUEUE_ROUTE_TEMPFAIL);
	T_ASSERT(!r.secure);
}

static void
test_outcome(void)
{
	const char *dsn = NULL;

	T_INTEQ(queue_outcome_of(250, "2.1.5", &dsn), QUEUE_OUTCOME_SENT);
	T_STREQ(dsn, "2.1.5");
	T_INTEQ(queue_outcome_of(250, NULL, &dsn), QUEUE_OUTCOME_SENT);
	T_STREQ(dsn, "2.0.0");
	T_INTEQ(queue_outcome_of(450, "4.2.1", &dsn), QUEUE_OUTCOME_DEFERRED);
	T_STREQ(dsn, "4.2.1");
	T_INTEQ(queue_outcome_of(550, "5.1.1", &dsn), QUEUE_OUTCOME_BOUNCED);
	T_STREQ(dsn, "5.1.1");
	/* enhanced class contradicting the code: the code wins */
	T_INTEQ(queue_outcome_of(550, "4.1.1", &dsn), QUEUE_OUTCOME_BOUNCED);
	T_STREQ(dsn, "5.0.0");
	T_INTEQ(queue_outcome_of(451, "5.7.1", &dsn), QUEUE_OUTCOME_DEFERRED);
	T_STREQ(dsn, "4.0.0");
	T_INTEQ(queue_outcome_of(0, NULL, &dsn), QUEUE_OUTCOME_DEFERRED);
	T_STREQ(dsn, "4.4.2");
	T_INTEQ(queue_outcome_of(354, NULL, &dsn), QUEUE_OUTCOME_DEFERRED);
	T_INTEQ(queue_outcome_of(999, "9.9.9", &dsn), QUEUE_OUTCOME_DEFERRED);
}

static const struct test tests[] = {
	TEST_ENTRY(test_backoff),
	TEST_ENTRY(test_nexthop),
	TEST_ENTRY(test_route),
	TEST_ENTRY(test_outcome),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("queue-policy", tests);
}
