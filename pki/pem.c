// SPDX-License-Identifier: ISC
/*
 * PEM structure and certificates. The scanner is a single forward pass over lines (memchr for
 * the newline, one more pass per line for its bytes): linear time, no recursion, no allocation,
 * and it never reads past len (buffers are not NUL-terminated). Certificates are decoded by
 * OpenSSL from their own block only; private key blocks are recognised by label and never
 * decoded, except by pki__key_matches_cert, which hands OpenSSL a read-only view of the caller's
 * buffer (no copy of the key is made here) and frees the key it got back.
 *
 * Names are printed one line in RFC 2253 form (XN_FLAG_RFC2253): most specific RDN first, ","
 * between RDNs, "+" inside multi-valued ones, special characters backslash-escaped and
 * non-ASCII bytes as \XX, so "/O=kubeadm:cluster-admins/CN=kubernetes-admin" reads
 * "CN=kubernetes-admin,O=kubeadm:cluster-admins" (what Go's pkix.Name.String() prints).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pki.h"

#define LABEL_MAX 64 /* with the NUL; same as pki_pem_scan.key_label */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- scanner ---------------------------------------------------------------------------- */

struct pem_block {
	char label[LABEL_MAX];
	size_t begin_line, end_line;
	size_t start, end;     /* BEGIN line's first byte .. just past END line (and its \n) */
	size_t body, body_end; /* the lines between */
	bool has_headers;      /* RFC 1421 "Name: value" lines opened the body */
};

struct pem_iter {
	const char *name;
	const unsigned char *buf;
	size_t len, pos, line;
	char *err;
	size_t errlen;
};

enum hdr_state { HDR_START, HDR_IN, HDR_BODY };

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* Length without trailing whitespace (CR of CRLF included). */
static size_t rtrim(const unsigned char *p, size_t n)
{
	while (n && is_ws(p[n - 1]))
		n--;
	return n;
}

static bool has_prefix(const unsigned char *p, size_t n, const char *pre)
{
	size_t l = strlen(pre);

	return n >= l && !memcmp(p, pre, l);
}

/*
 * "-----BEGIN LABEL-----" / "-----END LABEL-----" (p, n already right-trimmed; pre is the
 * "-----BEGIN " or "-----END " prefix, known present). Label: 1..63 printable ASCII, no '-',
 * no leading or trailing space. Returns false when malformed.
 */
static bool boundary_label(const unsigned char *p, size_t n, size_t prelen, char *label)
{
	size_t l, i;

	if (n < prelen + 1 + 5 || memcmp(p + n - 5, "-----", 5))
		return false;
	l = n - prelen - 5;
	if (l == 0 || l >= LABEL_MAX)
		return false;
	p += prelen;
	if (p[0] == ' ' || p[l - 1] == ' ')
		return false;
	for (i = 0; i < l; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '-')
			return false;
		label[i] = (char)p[i];
	}
	label[l] = 0;
	return true;
}

/* "Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,…": a token of [A-Za-z0-9-] then ':'. */
static bool is_header(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
			 (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
		i++;
	return i > 0 && i < n && p[i] == ':';
}

/* 0-based column of the first byte that is not printable ASCII or tab, or n. */
static size_t bad_text_byte(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] > 0x7e)
			return i;
	return n;
}

static size_t bad_b64_byte(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_b64(p[i]) && !is_ws(p[i]))
			return i;
	return n;
}

/*
 * Next complete block. 1 with *b filled, 0 at the end of the buffer, -1 with "name:line: msg"
 * in the iterator's err. Text outside blocks is skipped whatever it says (except NUL bytes and
 * stray END lines).
 */
static int pem_next(struct pem_iter *it, struct pem_block *b)
{
	enum hdr_state hs = HDR_START;
	bool in = false;
	char label[LABEL_MAX];

	while (it->pos < it->len) {
		const unsigned char *p = it->buf + it->pos, *nl;
		size_t start = it->pos, n, t, col;

		nl = memchr(p, '\n', it->len - it->pos);
		n = nl ? (size_t)(nl - p) : it->len - it->pos;
		it->pos += n + (nl != NULL);
		it->line++;
		if (memchr(p, 0, n)) {
			seterr(it->err, it->errlen, "%s:%zu: NUL byte at column %zu", it->name,
			       it->line, (size_t)((const unsigned char *)memchr(p, 0, n) - p) + 1);
			return -1;
		}
		if (it->line == 1 && has_prefix(p, n, "\xef\xbb\xbf")) { /* UTF-8 BOM */
			p += 3;
			n -= 3;
			start += 3;
		}
		t = rtrim(p, n);
		if (has_prefix(p, t, "-----BEGIN ")) {
			if (in) {
				seterr(it->err, it->errlen,
				       "%s:%zu: BEGIN inside the %s block opened at line %zu",
				       it->name, it->line, b->label, b->begin_line);
				return -1;
			}
			if (!boundary_label(p, t, 11, b->label)) {
				seterr(it->err, it->errlen, "%s:%zu: malformed BEGIN line",
				       it->name, it->line);
				return -1;
			}
			in = true;
			hs = HDR_START;
			b->begin_line = it->line;
			b->start = start;
			b->body = it->pos;
			b->has_headers = false;
			continue;
		}
		if (has_prefix(p, t, "-----END ")) {
			if (!in) {
				seterr(it->err, it->errlen, "%s:%zu: END without BEGIN", it->name,
				       it->line);
				return -1;
			}
			if (!boundary_label(p, t, 9, label)) {
				seterr(it->err, it->errlen, "%s:%zu: malformed END line", it->name,
				       it->line);
				return -1;
			}
			if (strcmp(label, b->label)) {
				seterr(it->err, it->errlen,
				       "%s:%zu: END %s does not close BEGIN %s at line %zu",
				       it->name, it->line, label, b->label, b->begin_line);
				return -1;
			}
			b->end_line = it->line;
			b->body_end = start;
			b->end = it->pos;
			return 1;
		}
		if (!in)
			continue; /* text around blocks: comments, "Bag Attributes", … */
		if (hs != HDR_BODY && t == 0) {
			hs = HDR_BODY; /* blank line: end of headers (or none) */
			continue;
		}
		if (hs == HDR_START && is_header(p, t)) {
			hs = HDR_IN;
			b->has_headers = true;
		}
		if (hs == HDR_IN && (is_header(p, t) || p[0] == ' ' || p[0] == '\t')) {
			col = bad_text_byte(p, t);
			if (col < t) {
				seterr(it->err, it->errlen,
				       "%s:%zu: byte 0x%02x at column %zu in a header", it->name,
				       it->line, p[col], col + 1);
				return -1;
			}
			continue;
		}
		hs = HDR_BODY;
		col = bad_b64_byte(p, n);
		if (col < n) {
			seterr(it->err, it->errlen,
			       "%s:%zu: byte 0x%02x at column %zu is not base64", it->name,
			       it->line, p[col], col + 1);
			return -1;
		}
	}
	if (in) {
		seterr(it->err, it->errlen, "%s:%zu: BEGIN %s without END", it->name, b->begin_line,
		       b->label);
		return -1;
	}
	return 0;
}

static int pem_iter_init(struct pem_iter *it, const char *name, const unsigned char *buf,
			 size_t len, char *err, size_t errlen)
{
	memset(it, 0, sizeof(*it));
	it->name = name ? name : "(pem)";
	it->buf = buf;
	it->len = buf ? len : 0;
	it->err = err;
	it->errlen = errlen;
	if (len > PKI_MAX_PEM) {
		seterr(err, errlen, "%s: %zu bytes, larger than a PEM file can be (%d)", it->name,
		       len, PKI_MAX_PEM);
		return -1;
	}
	return 0;
}

static bool is_private_key_label(const char *l)
{
	static const char *const labels[] = { "PRIVATE KEY",	 "RSA PRIVATE KEY",
					      "EC PRIVATE KEY",	 "ENCRYPTED PRIVATE KEY",
					      "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY" };
	size_t i, n = strlen(l);

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (!strcmp(l, labels[i]))
			return true;
	/* Anything else that calls itself a private key is counted as one too. */
	return n > 12 && !strcmp(l + n - 12, " PRIVATE KEY");
}

int pki__pem_scan(const char *name, const unsigned char *buf, size_t len, struct pki_pem_scan *s,
		  char *err, size_t errlen)
{
	struct pki_pem_scan local;
	struct pem_iter it;
	struct pem_block b;
	int r;

	if (!s)
		s = &local;
	memset(s, 0, sizeof(*s));
	if (pem_iter_init(&it, name, buf, len, err, errlen) < 0)
		return -1;
	while ((r = pem_next(&it, &b)) > 0) {
		if (!strcmp(b.label, "CERTIFICATE")) {
			if (!s->ncerts++)
				s->first_cert_line = b.begin_line;
		} else if (is_private_key_label(b.label)) {
			if (!s->nkeys++) {
				snprintf(s->key_label, sizeof(s->key_label), "%s", b.label);
				s->first_key_line = b.begin_line;
			}
		} else if (!strcmp(b.label, "PUBLIC KEY") || !strcmp(b.label, "RSA PUBLIC KEY")) {
			s->npubkeys++;
		} else {
			s->nother++;
		}
	}
	return r;
}

/* ---- certificates ----------------------------------------------------------------------- */

/*
 * Append an item to a ", "-separated list. Room for ", ..." is always kept, so when an item does
 * not fit the list ends with "..." instead and takes nothing more.
 */
static void list_add(char *buf, size_t size, const char *item)
{
	size_t used = strlen(buf), need = strlen(item) + (used ? 2 : 0);

	if (used >= 3 && !strcmp(buf + used - 3, "..."))
		return;
	if (used + need + 5 < size)
		snprintf(buf + used, size - used, "%s%s", used ? ", " : "", item);
	else if (used + 5 < size)
		snprintf(buf + used, size - used, "%s...", used ? ", " : "");
}

/*
 * Copy an attribute value as text: valid UTF-8 is kept, control characters, DEL and invalid
 * sequences become '?', and a sequence is never cut by the size limit.
 */
static void copy_text(char *out, size_t size, const unsigned char *s, size_t n)
{
	size_t i = 0, o = 0;

	if (!size)
		return;
	while (i < n) {
		unsigned char c = s[i];
		size_t l = 1, k;
		unsigned int cp;

		if (c >= 0xc2 && c <= 0xdf)
			l = 2;
		else if (c >= 0xe0 && c <= 0xef)
			l = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			l = 4;
		if (l > 1) {
			cp = c & (0x3f >> (l - 1));
			for (k = 1; k < l && i + k < n && (s[i + k] & 0xc0) == 0x80; k++)
				cp = cp << 6 | (s[i + k] & 0x3f);
			if (k < l || (l == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			    (l == 4 && (cp < 0x10000 || cp > 0x10ffff)))
				l = 0; /* invalid: one '?' for the lead byte */
		} else if (c < 0x20 || c >= 0x7f) {
			l = 0;
		}
		if (o + (l ? l : 1) >= size)
			break;
		if (l) {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = 0;
}

static void asn1_text(char *out, size_t size, const ASN1_STRING *v)
{
	unsigned char *u = NULL;
	int n = ASN1_STRING_to_UTF8(&u, v);

	if (n < 0) {
		snprintf(out, size, "?");
		return;
	}
	copy_text(out, size, u, (size_t)n);
	OPENSSL_free(u);
}

static void name_line(char *out, size_t size, const X509_NAME *nm)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	out[0] = 0;
	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, nm, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &p);
		if (n > 0)
			copy_text(out, size, (const unsigned char *)p, (size_t)n);
	}
	BIO_free(bio);
}

static void name_fields(struct pki_cert *c, const X509_NAME *nm)
{
	int i, n = X509_NAME_entry_count(nm);
	char v[256];

	for (i = 0; i < n; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));

		if (nid == NID_commonName) /* the last CN wins, as in Go's pkix.Name */
			asn1_text(c->cn, sizeof(c->cn), X509_NAME_ENTRY_get_data(e));
		else if (nid == NID_organizationName) {
			asn1_text(v, sizeof(v), X509_NAME_ENTRY_get_data(e));
			list_add(c->org, sizeof(c->org), v);
		}
	}
}

static void sans(struct pki_cert *c, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char item[300], v[256], ip[INET6_ADDRSTRLEN];
	int i;

	if (!gens)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_OCTET_STRING *a;

		switch (g->type) {
		case GEN_DNS:
			copy_text(v, sizeof(v), ASN1_STRING_get0_data(g->d.dNSName),
				  (size_t)ASN1_STRING_length(g->d.dNSName));
			snprintf(item, sizeof(item), "DNS:%s", v);
			break;
		case GEN_IPADD:
			a = g->d.iPAddress;
			if (ASN1_STRING_length(a) == 4)
				inet_ntop(AF_INET, ASN1_STRING_get0_data(a), ip, sizeof(ip));
			else if (ASN1_STRING_length(a) == 16)
				inet_ntop(AF_INET6, ASN1_STRING_get0_data(a), ip, sizeof(ip));
			else
				snprintf(ip, sizeof(ip), "<%d bytes>", ASN1_STRING_length(a));
			snprintf(item, sizeof(item), "IP:%s", ip);
			break;
		case GEN_EMAIL:
			copy_text(v, sizeof(v), ASN1_STRING_get0_data(g->d.rfc822Name),
				  (size_t)ASN1_STRING_length(g->d.rfc822Name));
			snprintf(item, sizeof(item), "email:%s", v);
			break;
		case GEN_URI:
			copy_text(v, sizeof(v),
				  ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
				  (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier));
			snprintf(item, sizeof(item), "URI:%s", v);
			break;
		case GEN_DIRNAME:
			name_line(v, sizeof(v), g->d.directoryName);
			snprintf(item, sizeof(item), "DirName:%s", v);
			break;
		default:
			snprintf(item, sizeof(item), "other:%d", g->type);
			break;
		}
		list_add(c->sans, sizeof(c->sans), item);
	}
	GENERAL_NAMES_free(gens);
}

static void key_usages(struct pki_cert *c, X509 *x)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} ku[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" },
		{ KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
		{ KU_ENCIPHER_ONLY, "encipherOnly" },
		{ KU_DECIPHER_ONLY, "decipherOnly" },
	};
	EXTENDED_KEY_USAGE *eku;
	char v[128];
	uint32_t bits;
	size_t i;
	int j;

	if (X509_get_extension_flags(x) & EXFLAG_KUSAGE) {
		bits = X509_get_key_usage(x);
		for (i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
			if (bits & ku[i].bit)
				list_add(c->key_usage, sizeof(c->key_usage), ku[i].name);
	}
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	if (!eku)
		return;
	for (j = 0; j < sk_ASN1_OBJECT_num(eku); j++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, j);
		int nid = OBJ_obj2nid(o);

		if (nid != NID_undef)
			snprintf(v, sizeof(v), "%s", OBJ_nid2sn(nid));
		else if (OBJ_obj2txt(v, sizeof(v), o, 1) <= 0)
			snprintf(v, sizeof(v), "?");
		list_add(c->ext_key_usage, sizeof(c->ext_key_usage), v);
	}
	EXTENDED_KEY_USAGE_free(eku);
}

static void key_type(struct pki_cert *c, X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[80];
	const char *nist;
	int id;

	if (!pk) { /* an algorithm OpenSSL does not know, or a key it could not decode */
		snprintf(c->key_type, sizeof(c->key_type), "unknown");
		return;
	}
	id = EVP_PKEY_get_base_id(pk);
	switch (id) {
	case EVP_PKEY_RSA:
		snprintf(c->key_type, sizeof(c->key_type), "RSA-%d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(c->key_type, sizeof(c->key_type), "RSA-PSS-%d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_DSA:
		snprintf(c->key_type, sizeof(c->key_type), "DSA-%d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), NULL) != 1) {
			snprintf(c->key_type, sizeof(c->key_type), "EC-%d", EVP_PKEY_get_bits(pk));
			break;
		}
		nist = EC_curve_nid2nist(OBJ_txt2nid(group));
		snprintf(c->key_type, sizeof(c->key_type), "EC-%.28s", nist ? nist : group);
		break;
	case EVP_PKEY_ED25519:
		snprintf(c->key_type, sizeof(c->key_type), "ED25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(c->key_type, sizeof(c->key_type), "ED448");
		break;
	default:
		snprintf(c->key_type, sizeof(c->key_type), "%s",
			 id != NID_undef && OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown");
		break;
	}
}

static int unix_time(const ASN1_TIME *t, long long *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (long long)timegm(&tm);
	return 0;
}

/*
 * Decode the base64 body of a block into a malloc'd buffer. Whitespace is skipped; '=' may only
 * end the data (at most two) and the data must be whole quanta. -1 with a message otherwise.
 */
static int b64_decode(const struct pem_iter *it, const struct pem_block *b, unsigned char **out,
		      size_t *outlen)
{
	const unsigned char *p = it->buf + b->body, *e = it->buf + b->body_end;
	unsigned char *s, *der;
	size_t n = 0, pad = 0;
	int r;

	*out = NULL;
	s = malloc((size_t)(e - p) + 1);
	if (!s) {
		seterr(it->err, it->errlen, "%s:%zu: out of memory", it->name, b->begin_line);
		return -1;
	}
	for (; p < e; p++) {
		if (*p == '\n' || is_ws(*p))
			continue;
		if (*p == '=')
			pad++;
		else if (pad)
			break;
		s[n++] = *p;
	}
	if (p < e || pad > 2 || n == 0 || n % 4) {
		seterr(it->err, it->errlen, "%s:%zu: %s block: %s", it->name, b->begin_line,
		       b->label,
		       n == 0 && !pad && p == e ? "empty" : "bad base64 length or padding");
		free(s);
		return -1;
	}
	der = malloc(n / 4 * 3);
	if (!der) {
		free(s);
		seterr(it->err, it->errlen, "%s:%zu: out of memory", it->name, b->begin_line);
		return -1;
	}
	r = EVP_DecodeBlock(der, s, (int)n);
	free(s);
	if (r < 0 || (size_t)r != n / 4 * 3) {
		free(der);
		seterr(it->err, it->errlen, "%s:%zu: %s block: bad base64", it->name, b->begin_line,
		       b->label);
		return -1;
	}
	*out = der;
	*outlen = (size_t)r - pad;
	return 0;
}

static X509 *decode_cert(const struct pem_iter *it, const struct pem_block *b)
{
	const unsigned char *q;
	unsigned char *der;
	size_t derlen;
	X509 *x;

	if (b->has_headers) {
		seterr(it->err, it->errlen, "%s:%zu: CERTIFICATE block with RFC 1421 headers",
		       it->name, b->begin_line);
		return NULL;
	}
	if (b64_decode(it, b, &der, &derlen) < 0)
		return NULL;
	q = der;
	x = d2i_X509(NULL, &q, (long)derlen);
	if (!x || q != der + derlen) {
		unsigned long e = ERR_peek_last_error();
		char why[160];

		if (x)
			snprintf(why, sizeof(why), "%zu bytes after the certificate",
				 (size_t)(der + derlen - q));
		else if (e)
			ERR_error_string_n(e, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "undecodable");
		seterr(it->err, it->errlen, "%s:%zu: CERTIFICATE block: not a certificate (%s)",
		       it->name, b->begin_line, why);
		X509_free(x);
		x = NULL;
	}
	free(der);
	return x;
}

int pki__cert_parse(const char *name, const unsigned char *buf, size_t len, int index,
		    struct pki_cert *c, struct x509_st **x509, char *err, size_t errlen)
{
	struct pki_cert local;
	struct pem_iter it;
	struct pem_block b, found;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int r, k = 0, ret = -1;
	X509 *x = NULL;
	BASIC_CONSTRAINTS *bc;

	memset(&found, 0, sizeof(found));
	if (x509)
		*x509 = NULL;
	if (!c)
		c = &local;
	memset(c, 0, sizeof(*c));
	if (pem_iter_init(&it, name, buf, len, err, errlen) < 0)
		return -1;
	if (index < 0) {
		seterr(err, errlen, "%s: certificate index %d out of range", it.name, index);
		return -1;
	}
	/* The whole file must be well-formed, not just the part before the wanted block. */
	while ((r = pem_next(&it, &b)) > 0)
		if (!strcmp(b.label, "CERTIFICATE") && k++ == index)
			found = b;
	if (r < 0)
		return -1;
	if (k <= index) {
		seterr(err, errlen,
		       "%s: certificate index %d out of range (%d CERTIFICATE block%s)", it.name,
		       index, k, k == 1 ? "" : "s");
		return -1;
	}
	x = decode_cert(&it, &found);
	if (!x)
		goto out;

	name_line(c->subject, sizeof(c->subject), X509_get_subject_name(x));
	name_line(c->issuer, sizeof(c->issuer), X509_get_issuer_name(x));
	name_fields(c, X509_get_subject_name(x));
	sans(c, x);
	key_usages(c, x);
	key_type(c, x);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	c->is_ca = bc && bc->ca;
	BASIC_CONSTRAINTS_free(bc);
	if (unix_time(X509_get0_notBefore(x), &c->not_before) < 0 ||
	    unix_time(X509_get0_notAfter(x), &c->not_after) < 0) {
		seterr(err, errlen, "%s:%zu: CERTIFICATE block: bad validity time", it.name,
		       found.begin_line);
		goto out;
	}
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		seterr(err, errlen, "%s:%zu: CERTIFICATE block: cannot hash", it.name,
		       found.begin_line);
		goto out;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(c->sha256 + 2 * i, 3, "%02x", md[i]);
	ret = 0;
	if (x509) {
		*x509 = x;
		x = NULL;
	}
out:
	X509_free(x);
	if (ret < 0)
		memset(c, 0, sizeof(*c));
	ERR_clear_error();
	return ret;
}

int pki__cert_signed_by(struct x509_st *leaf, struct x509_st *ca)
{
	EVP_PKEY *pk;
	int ret = 0;

	if (!leaf || !ca)
		return -1;
	pk = X509_get0_pubkey(ca);
	if (pk && X509_check_issued(ca, leaf) == X509_V_OK && X509_verify(leaf, pk) == 1)
		ret = 1;
	ERR_clear_error();
	return ret;
}

/* ---- private keys (--verify-keys) ------------------------------------------------------- */

/* Never prompt, never try a password: note that one was wanted and fail the decode. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

int pki__key_matches_cert(const char *name, const unsigned char *keybuf, size_t len,
			  struct x509_st *cert, char *err, size_t errlen)
{
	struct pem_iter it;
	struct pem_block b, cur;
	EVP_PKEY *pk = NULL;
	bool found = false;
	BIO *bio;
	int r, asked = 0, ret = -1;

	memset(&b, 0, sizeof(b));
	if (pem_iter_init(&it, name, keybuf, len, err, errlen) < 0)
		return -1;
	if (!cert) {
		seterr(err, errlen, "%s: no certificate to match", it.name);
		return -1;
	}
	/* As for certificates, the whole file must be well-formed; the first key is the one. */
	while ((r = pem_next(&it, &cur)) > 0) {
		if (!found && is_private_key_label(cur.label)) {
			b = cur;
			found = true;
		}
	}
	if (r < 0)
		return -1;
	if (!found) {
		seterr(err, errlen, "%s: no private key block", it.name);
		return -1;
	}
	if (!strcmp(b.label, "ENCRYPTED PRIVATE KEY")) {
		seterr(err, errlen, "%s:%zu: encrypted key (no password is ever tried)", it.name,
		       b.begin_line);
		return -1;
	}
	/* A read-only BIO over the caller's bytes of just this block: no copy of the key. */
	bio = BIO_new_mem_buf(keybuf + b.start, (int)(b.end - b.start));
	if (!bio) {
		seterr(err, errlen, "%s:%zu: out of memory", it.name, b.begin_line);
		return -1;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_password, &asked);
	BIO_free(bio);
	if (!pk) {
		if (asked)
			seterr(err, errlen, "%s:%zu: encrypted key (no password is ever tried)",
			       it.name, b.begin_line);
		else
			seterr(err, errlen, "%s:%zu: %s block: cannot decode the key", it.name,
			       b.begin_line, b.label);
		goto out;
	}
	ret = X509_check_private_key(cert, pk) == 1;
	EVP_PKEY_free(pk);
out:
	ERR_clear_error();
	return ret;
}
