// SPDX-License-Identifier: ISC
/*
 * --format falco: Falco's JSON output shape (time, rule, priority, output, source, tags,
 * hostname, output_fields), so Falcosidekick can fan keywatch alerts out to any SIEM unchanged.
 * Field names in output_fields follow Falco's (proc.*, fd.*, user.*, container.*); keywatch's
 * own are under keywatch.*. Every string goes through the same escaping as the ECS output.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kw.h"

static const char *priority(int severity)
{
	return severity >= PKI_SEV_CRITICAL ? "Critical"
	       : severity >= PKI_SEV_HIGH   ? "Error"
	       : severity >= PKI_SEV_MEDIUM ? "Warning"
	       : severity > 0		    ? "Notice"
					    : "Informational";
}

static void put_time(struct json *j, int64_t real_ns)
{
	char buf[64];
	struct tm tm;
	time_t s = (time_t)(real_ns / 1000000000);

	gmtime_r(&s, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long long)(real_ns % 1000000000));
	json__str(j, "time", buf);
}

/* Opens the record; the caller adds output_fields members, then falco__end. */
void falco__begin(struct kw_output *o, int64_t real_ns, const char *rule, int severity,
		  const char *message, bool credential)
{
	struct json *j = &o->j;

	if (!o->m.id[0])
		output__meta(o, severity ? "alert" : "state", "", severity);
	o->m.real_ns = real_ns;
	o->m.rule = rule;
	json__reset(j);
	json__obj_begin(j, NULL);
	put_time(j, real_ns);
	json__str(j, "rule", rule);
	json__str(j, "priority", priority(severity));
	json__str(j, "output", message);
	json__str(j, "source", "keywatch");
	json__str(j, "hostname", o->hostname);
	json__arr_begin(j, "tags");
	json__str(j, NULL, "keywatch");
	json__str(j, NULL, "kubernetes");
	if (credential) {
		json__str(j, NULL, "mitre_credential_access");
		json__str(j, NULL, "T1552.004"); /* Unsecured Credentials: Private Keys */
	}
	json__arr_end(j);
	json__obj_begin(j, "output_fields");
	json__int(j, "evt.time", real_ns);
}

void falco__end(struct kw_output *o, const char *action)
{
	struct json *j = &o->j;

	if (!o->m.action || !*o->m.action)
		o->m.action = action;
	json__str(j, "keywatch.action", action);
	json__str(j, "keywatch.event_id", o->m.id);
	json__str(j, "keywatch.version", KW_VERSION);
	json__obj_end(j);
	json__obj_end(j);
	output__emit(o);
}

void falco__open_event(struct kw_output *o, const struct kw_decoded *d, const struct pki_file *f,
		       const struct kw_verdict *v, const char *rule, int severity,
		       const char *message)
{
	const struct kw_event *e = d->raw;
	const struct kw_proc *p = &e->proc;
	bool attempt = e->kind == KW_EV_ATTEMPT;
	struct json *j = &o->j;
	char readers[512] = "";
	size_t off = 0;
	int i;

	falco__begin(o, (int64_t)e->ktime_ns + o->mono_to_real, rule, severity, message,
		     !v->expected || attempt);
	json__str(j, "evt.type", event__hook_name(e->hook));
	json__int(j, "evt.res", e->ret);
	json__int(j, "proc.pid", p->tgid);
	json__int(j, "thread.tid", p->tid);
	json__int(j, "proc.ppid", p->ppid);
	json__strn(j, "proc.name", p->comm, strnlen(p->comm, KW_COMM_LEN));
	json__str(j, "proc.exepath", d->exe[0] ? d->exe : NULL);
	output__args(j, d, true);
	json__int(j, "user.uid", p->uid);
	json__int(j, "group.gid", p->gid);
	/* Falco's container.id is the 12-character short id, or "host". */
	if (d->id.pl.container_id[0]) {
		char shortid[13];

		snprintf(shortid, sizeof(shortid), "%.12s", d->id.pl.container_id);
		json__str(j, "container.id", shortid);
		json__str(j, "container.full_id", d->id.pl.container_id);
	} else {
		json__str(j, "container.id", "host");
	}
	if (d->id.pl.pod_uid[0])
		json__str(j, "k8s.pod.uid", d->id.pl.pod_uid);
	if (d->id.pl.pod_name[0])
		json__str(j, "k8s.pod.name", d->id.pl.pod_name);
	if (d->id.pl.pod_namespace[0])
		json__str(j, "k8s.ns.name", d->id.pl.pod_namespace);
	if (d->id.nanc && d->id.anc[0].pid == p->ppid) {
		json__str(j, "proc.pname", d->id.anc[0].name);
		json__str(j, "proc.pexepath", d->id.anc[0].exe[0] ? d->id.anc[0].exe : NULL);
	}
	if (d->id.has_sha256) {
		char h[65];
		int k;

		for (k = 0; k < 32; k++)
			snprintf(h + 2 * k, 3, "%02x", d->id.sha256[k]);
		json__str(j, "keywatch.sha256", h);
	}
	json__str(j, "keywatch.placement", d->id.pl.kind);
	if (d->id.pl.cgroup[0])
		json__str(j, "keywatch.cgroup", d->id.pl.cgroup);
	json__str(j, "fd.name", f ? f->path : NULL);
	if (!attempt) {
		json__uint(j, "fd.ino", e->file.ino);
		json__uint(j, "fd.dev", e->file.dev);
	}
	if (e->kind != KW_EV_LINKED && !(e->flags & (KW_EVF_NO_PATH | KW_EVF_PATH_FAULT)))
		json__strn(j, "keywatch.opened_path", e->path, e->path_len);
	json__str(j, "keywatch.role", f ? f->role : "unknown");
	for (i = 0; f && i < f->nreaders && off < sizeof(readers); i++)
		off += snprintf(readers + off, sizeof(readers) - off, "%s%s", i ? "," : "",
				f->readers[i].component);
	json__str(j, "keywatch.expected_readers", readers);
	json__str(j, "keywatch.verdict", v->expected && !attempt ? "expected" : "unexpected");
	json__str(j, "keywatch.reason", attempt ? "denied open of a watched key" : v->reason);
	if (e->kind == KW_EV_LINKED)
		json__str(j, "keywatch.new_location", d->new_location);
	else
		json__str(j, "keywatch.access", output__is_write(e) ? "write" : "read");
	if (!attempt && v->failed_check)
		json__str(j, "keywatch.failed_check", v->failed_check);
	{
		char comm[KW_COMM_LEN + 1];
		const char *claim;

		memcpy(comm, p->comm, KW_COMM_LEN);
		comm[KW_COMM_LEN] = 0;
		claim = output__comm_claim(comm, d->exe);
		if (claim)
			json__str(j, "keywatch.comm_claims", claim);
	}
	if (e->flags & KW_EVF_DIRECT_FD)
		json__int(j, "keywatch.io_uring_direct_slot", e->ret);
	if (e->flags & KW_EVF_IO_WORKER)
		json__bool(j, "keywatch.io_uring_worker", true);
	falco__end(o, attempt ? "key-open-attempt" : "key-open");
}
