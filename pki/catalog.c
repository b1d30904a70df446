// SPDX-License-Identifier: ISC
/*
 * The kubeadm layout as data: which node paths hold secrets, their role, and the components
 * that read them at run time (notes/kubeadm-pki.md §4). First matching rule wins, so specific
 * names precede the catch-all globs. Other distributions' layouts are more tables like this one.
 */
#include <string.h>

#include "catalog.h"

/* kubeadm runs the control plane as static pods and the kubelet as a systemd service; kubeadm
 * itself is a command an administrator runs (no placement to check: policy readers only). */
static const struct pki_component components[] = {
	{ "kube-apiserver", "/usr/local/bin/kube-apiserver", PKI_PLACE_STATIC_POD, NULL },
	{ "kube-controller-manager", "/usr/local/bin/kube-controller-manager", PKI_PLACE_STATIC_POD,
	  NULL },
	{ "kube-scheduler", "/usr/local/bin/kube-scheduler", PKI_PLACE_STATIC_POD, NULL },
	{ "etcd", "/usr/local/bin/etcd", PKI_PLACE_STATIC_POD, NULL },
	{ "kubelet", "/usr/bin/kubelet", PKI_PLACE_HOST_SERVICE, "kubelet.service" },
	{ "kubeadm", "/usr/bin/kubeadm", PKI_PLACE_ANY, NULL },
};

const char *pki__placement_name(enum pki_placement p)
{
	switch (p) {
	case PKI_PLACE_STATIC_POD:
		return "static-pod";
	case PKI_PLACE_HOST_SERVICE:
		return "host-service";
	default:
		return "any";
	}
}

#define KAS	"kube-apiserver"
#define KCM	"kube-controller-manager"
#define KS	"kube-scheduler"
#define KUBELET "kubelet"
#define PKI	"/etc/kubernetes/pki/"
#define KEY	PKI_KIND_PRIVATE_KEY
#define KCFG	PKI_KIND_KUBECONFIG
#define PEM	PKI_KIND_COMBINED_PEM
#define CRIT	PKI_SEV_CRITICAL
#define HIGH	PKI_SEV_HIGH

#define CA     PKI "ca.crt"
#define FPCA   PKI "front-proxy-ca.crt"
#define ETCDCA PKI "etcd/ca.crt"
#define RULE(glob, role, kind, sev, ca, ...)               \
	{                                                  \
		glob, role, kind, sev, { __VA_ARGS__ }, ca \
	}

const struct pki_rule pki_kubeadm_rules[] = {
	RULE(PKI "ca.key", "cluster-ca-key", KEY, CRIT, CA, KCM),
	RULE(PKI "sa.key", "service-account-signing-key", KEY, CRIT, NULL, KAS, KCM),
	RULE(PKI "front-proxy-ca.key", "front-proxy-ca-key", KEY, CRIT, FPCA, NULL),
	RULE(PKI "apiserver.key", "apiserver-serving-key", KEY, HIGH, CA, KAS),
	RULE(PKI "apiserver-kubelet-client.key", "apiserver-kubelet-client-key", KEY, HIGH, CA,
	     KAS),
	RULE(PKI "apiserver-etcd-client.key", "apiserver-etcd-client-key", KEY, HIGH, ETCDCA, KAS),
	RULE(PKI "front-proxy-client.key", "front-proxy-client-key", KEY, HIGH, FPCA, KAS),
	RULE(PKI "etcd/ca.key", "etcd-ca-key", KEY, CRIT, ETCDCA, NULL),
	RULE(PKI "etcd/server.key", "etcd-server-key", KEY, HIGH, ETCDCA, "etcd"),
	RULE(PKI "etcd/peer.key", "etcd-peer-key", KEY, HIGH, ETCDCA, "etcd"),
	RULE(PKI "etcd/healthcheck-client.key", "etcd-healthcheck-client-key", KEY, HIGH, ETCDCA,
	     NULL),
	RULE(PKI "*.key", "unknown-private-key", KEY, HIGH, NULL, NULL),
	RULE(PKI "etcd/*.key", "unknown-private-key", KEY, HIGH, NULL, NULL),
	RULE("/etc/kubernetes/admin.conf", "admin-kubeconfig", KCFG, HIGH, CA, NULL),
	RULE("/etc/kubernetes/super-admin.conf", "super-admin-kubeconfig", KCFG, CRIT, CA, NULL),
	RULE("/etc/kubernetes/controller-manager.conf", "controller-manager-kubeconfig", KCFG, HIGH,
	     CA, KCM),
	RULE("/etc/kubernetes/scheduler.conf", "scheduler-kubeconfig", KCFG, HIGH, CA, KS),
	RULE("/etc/kubernetes/kubelet.conf", "kubelet-kubeconfig", KCFG, HIGH, CA, KUBELET),
	RULE("/etc/kubernetes/bootstrap-kubelet.conf", "bootstrap-kubeconfig",
	     PKI_KIND_TOKEN_KUBECONFIG, HIGH, NULL, KUBELET),
	RULE("/var/lib/kubelet/pki/kubelet-client-*.pem", "kubelet-client-credential", PEM, HIGH,
	     CA, KUBELET),
	/* kubelet.crt is self-signed by the kubelet's own throwaway CA: no chain to check. */
	RULE("/var/lib/kubelet/pki/kubelet.key", "kubelet-serving-key", KEY, HIGH, NULL, KUBELET),
	RULE("/var/lib/kubelet/pki/kubelet-server-*.pem", "kubelet-serving-key", PEM, HIGH, CA,
	     KUBELET),
	{ NULL, NULL, 0, 0, { NULL }, NULL },
};

/* Directories whose entries are matched against the rules. */
const char *const pki_kubeadm_dirs[] = {
	"/etc/kubernetes/pki",
	"/etc/kubernetes/pki/etcd",
	"/etc/kubernetes",
	"/var/lib/kubelet/pki",
	NULL,
};

const struct pki_component *pki__component(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(components) / sizeof(components[0]); i++)
		if (!strcmp(components[i].name, name))
			return &components[i];
	return NULL;
}

/* The component a process name (comm: at most 15 bytes, the kernel cuts longer names) claims. */
const struct pki_component *pki__component_by_comm(const char *comm)
{
	size_t i;

	for (i = 0; comm[0] && i < sizeof(components) / sizeof(components[0]); i++)
		if (!strncmp(components[i].name, comm, 15) &&
		    strlen(comm) ==
			    (strlen(components[i].name) < 15 ? strlen(components[i].name) : 15))
			return &components[i];
	return NULL;
}

const char *pki__kind_name(enum pki_kind kind)
{
	switch (kind) {
	case PKI_KIND_PRIVATE_KEY:
		return "private-key";
	case PKI_KIND_KUBECONFIG:
		return "kubeconfig";
	case PKI_KIND_COMBINED_PEM:
		return "combined-pem";
	case PKI_KIND_TOKEN_KUBECONFIG:
		return "token-kubeconfig";
	default:
		return "other";
	}
}
