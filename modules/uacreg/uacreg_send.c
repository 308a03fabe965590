/*
 * Copyright (C) 2026 uacreg authors
 *
 * This file is part of Kamailio, a free SIP server.
 *
 * Kamailio is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or
 * (at your option) any later version
 *
 * Kamailio is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the
 * GNU General Public License for more details.
 *
 * You should have received a copy of the GNU General Public License
 * along with this program; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301  USA
 */

/*
 * uacreg - REGISTER through tm, and the reply callback (see uacreg_send.h).
 *
 * Every REGISTER goes out with t_request_within() on a dlg_t built here from
 * the line's own Call-ID, From tag and CSeq. That keeps the choice between
 * "same dialog" and "new dialog" entirely in the state machine: a new dialog
 * is nothing more than a fresh Call-ID and tag and CSeq 1.
 */
#include <stdio.h>
#include <unistd.h>

#include "../../core/dprint.h"
#include "../../core/ut.h"
#include "../../core/pt.h"
#include "../../core/strutils.h"
#include "../../core/rand/kam_rand.h"
#include "../../core/parser/msg_parser.h"
#include "../../core/parser/parse_uri.h"
#include "../../modules/tm/tm_load.h"
#include "digest.h"
#include "reply_scan.h"
#include "../../core/timer_ticks.h"
#include "../../core/cfg/cfg_struct.h"
#include "uacreg_send.h"
#include "uacreg_ha.h"

/* modparams default_contact (contact_addr for rows without one) and
 * default_socket */
str uacreg_default_contact = STR_NULL;
str uacreg_default_socket = STR_NULL;
struct tm_binds uacreg_tmb;

counter_handle_t uacreg_cnt_sent;
counter_handle_t uacreg_cnt_challenges;
counter_handle_t uacreg_cnt_new_dialog_learnt;

int usend_init(void)
{
	if(load_tm_api(&uacreg_tmb) < 0) {
		LM_ERR("cannot load the tm API (load tm before uacreg)\n");
		return -1;
	}
	return 0;
}

/* How long a REGISTER can stay without a final reply: tm's fr_timer (its
 * local 408), plus a second for the reply callback. A line that replaces
 * one with a request in flight waits this long (line_follow). Read when
 * needed: tm's value can change at run time (cfg_rpc), and not every
 * process runs child_init. */
void uacreg_inflight_update(void)
{
	static str grp = str_init("tm"), var = str_init("fr_timer");
	cfg_group_t *group;
	cfg_mapping_t *map;
	int ticks;

	/* cfg_get_by_name() refuses variables with a fixup, as tm's timers
	 * are: read this process's copy of tm's config as tm itself does */
	if(cfg_lookup_var(&grp, &var, &group, &map) != 0 || group->handle == NULL
			|| *(group->handle) == NULL || CFG_VAR_TYPE(map) != CFG_VAR_INT)
		return;
	ticks = *(int *)((char *)*(group->handle) + map->offset);
	/* tm keeps it in timer ticks */
	if(ticks > 0)
		uacreg_cfg.inflight_max_ms = (uint32_t)TICKS_TO_MS(ticks) + 1000;
}


/* room for the credentials: Proxy-Authorization and Authorization, each
 * with realm, nonce and opaque of up to DIGEST_MAX_FIELD */
#define USEND_AUTH_MAX 4096
#define USEND_BUF 4096

/* what a REGISTER needs, copied out of the line under the lock */
struct usend
{
	uintptr_t cbp;
	struct socket_info *sock;
	unsigned int cseq;
	str ruri, from, to, proxy, call_id, from_tag, hdrs;
	/* what the credentials need: computed after the lock is released; one
	 * header per kept challenge (line.h enum line_ch_kind) */
	int with_auth;
	int have[LINE_CH_KINDS];
	struct digest_challenge ch[LINE_CH_KINDS];
	struct digest_creds cr;
	uint32_t nc[LINE_CH_KINDS];
	str uuid; /* for the log */
	char buf[USEND_BUF];
	char hdr_buf[USEND_AUTH_MAX + 1024];
};

/* The callback parameter carries the line's id, slot generation and the low
 * bits of the attempt: no allocation per request, and a reply for a line
 * that was removed or replaced since finds nothing. */
static uintptr_t usend_pack(uint32_t id, uint32_t gen, uint32_t attempt)
{
	return ((uintptr_t)id << 32) | ((uintptr_t)(gen & 0xffff) << 16)
		   | (attempt & 0xffff);
}

static void usend_unpack(
		uintptr_t v, uint32_t *id, uint32_t *gen16, uint32_t *attempt16)
{
	*id = (uint32_t)(v >> 32);
	*gen16 = (uint32_t)(v >> 16) & 0xffff;
	*attempt16 = (uint32_t)v & 0xffff;
}

static void usend_hex(char *out, int nchars)
{
	static const char hex[] = "0123456789abcdef";
	int i;
	uint32_t r = 0;

	for(i = 0; i < nchars; i++) {
		/* my_pid(): Kamailio's cached pid; getpid() is a system call on
		 * every REGISTER's cnonce (7% of the uacreg process) */
		if((i & 7) == 0)
			r = (uint32_t)kam_rand() ^ ((uint32_t)my_pid() << 16);
		out[i] = hex[r & 0xf];
		r >>= 4;
	}
}

/* a fresh Call-ID and From tag for a new dialog, kept in the line (which
 * may move: *ulp follows) */
static int usend_open_new_dialog(struct uline **ulp)
{
	char cid[40], tag[16];
	str scid = {cid, 0}, stag = {tag, sizeof(tag)};
	const str *vals[UL_DYN_COUNT] = {0};
	uint64_t now = uclock_now();

	usend_hex(cid, 16);
	scid.len = 16
			   + snprintf(cid + 16, sizeof(cid) - 16, "-%llx-uacreg",
					   (unsigned long long)(now & 0xffffffffffULL));
	usend_hex(tag, sizeof(tag));
	vals[UL_CALL_ID] = &scid;
	vals[UL_FROM_TAG] = &stag;
	return ul_set_dyn(ulp, vals);
}

static ur_str_t usend_ur(str s)
{
	ur_str_t r = {s.s, (size_t)s.len};
	return r;
}

/* the credentials for the challenge of kind k copied into us, or -1 */
static int usend_auth(const struct usend *us, int k, char *out, size_t size)
{
	struct digest_request rq;
	char cnonce[16];
	int n;

	usend_hex(cnonce, sizeof(cnonce));
	rq.method = UR_STR_LIT("REGISTER");
	rq.uri = usend_ur(us->ruri);
	rq.body = UR_STR_NULL;
	rq.nc = us->nc[k];
	rq.cnonce.s = cnonce;
	rq.cnonce.len = sizeof(cnonce);
	n = digest_build_authorization(&us->ch[k], &us->cr, &rq, out, size);
	if(n < 0)
		LM_ERR("line [%.*s]: cannot answer the %s %s challenge (error %d)\n",
				us->uuid.len, us->uuid.s, digest_alg_name(us->ch[k].alg),
				k == LINE_CH_PROXY ? "proxy" : "registrar", n);
	return n;
}

/* copies s into buf at *pos as a ur_str_t; 0 or -1 when full */
static int usend_copy(char *buf, size_t size, size_t *pos, ur_str_t *out, str s)
{
	if(s.len < 0 || (size_t)s.len > size - *pos)
		return -1;
	memcpy(buf + *pos, s.s, s.len);
	out->s = buf + *pos;
	out->len = (size_t)s.len;
	*pos += s.len;
	return 0;
}

/* appends the concatenation of n parts, and a NUL (strings stay
 * printable), to buf at *pos; 0 or -1 when full. memcpy, not vsnprintf:
 * it runs seven times for every REGISTER */
static int usend_cat(
		char *buf, size_t size, size_t *pos, str *out, const str *parts, int n)
{
	size_t len = 0;
	int i;

	for(i = 0; i < n; i++) {
		if(parts[i].len < 0)
			return -1;
		len += (size_t)parts[i].len;
	}
	if(len >= size - *pos)
		return -1;
	out->s = buf + *pos;
	out->len = (int)len;
	for(i = 0; i < n; i++) {
		memcpy(buf + *pos, parts[i].s, parts[i].len);
		*pos += parts[i].len;
	}
	buf[(*pos)++] = '\0';
	return 0;
}
#define USEND_CAT(buf, pos, out, ...)                                       \
	usend_cat((buf), sizeof(buf), (pos), (out), (const str[]){__VA_ARGS__}, \
			(int)(sizeof((const str[]){__VA_ARGS__}) / sizeof(str)))

/* Under the lock: copies what the REGISTER needs out of the line (which
 * may move: *ulp follows). Everything that takes time (the digest, the
 * headers) is left to usend_finish(), after the lock. -1 when the line
 * cannot build one. */
static int usend_prepare(
		struct uline **ulp, const struct line_send *act, struct usend *us)
{
	struct uline *ul;
	static const str s_sip = str_init("sip:"), s_at = str_init("@"),
					 s_contact = str_init("Contact: <sip:"),
					 s_expires = str_init(">\r\nExpires: "),
					 s_crlf = str_init("\r\n");
	str rdom, ruser, proxy, caddr, cid, tag, uuid, exp;
	size_t pos = 0, hpos = 0;
	int i, k;

	if(act->in_new_dialog || (*ulp)->dyn_len[UL_CALL_ID] == 0) {
		if(usend_open_new_dialog(ulp) < 0)
			return -1;
	}
	/* only now: a new dialog may have moved the line */
	ul = *ulp;
	rdom = ul_str(ul, ROW_R_DOMAIN);
	ruser = ul_str(ul, ROW_R_USERNAME);
	proxy = ul_str(ul, ROW_AUTH_PROXY);
	caddr = ul_str(ul, ROW_CONTACT_ADDR);
	if(caddr.len == 0)
		caddr = uacreg_default_contact;
	cid = ul_dyn(ul, UL_CALL_ID);
	tag = ul_dyn(ul, UL_FROM_TAG);
	uuid = ul_str(ul, ROW_L_UUID);
	exp.s = int2str(act->expires, &exp.len);
	if(USEND_CAT(us->buf, &pos, &us->uuid, uuid) < 0
			|| USEND_CAT(us->buf, &pos, &us->ruri, s_sip, rdom) < 0
			|| USEND_CAT(us->buf, &pos, &us->to, s_sip, ruser, s_at, rdom) < 0
			|| USEND_CAT(us->buf, &pos, &us->proxy, proxy) < 0
			|| USEND_CAT(us->buf, &pos, &us->call_id, cid) < 0
			|| USEND_CAT(us->buf, &pos, &us->from_tag, tag) < 0
			/* the room for the credentials stays free behind */
			|| usend_cat(us->hdr_buf, sizeof(us->hdr_buf) - USEND_AUTH_MAX,
					   &hpos, &us->hdrs,
					   (const str[]){s_contact, uuid, s_at, caddr, s_expires,
							   exp, s_crlf},
					   7)
					   < 0)
		return -1;
	us->from = us->to;
	us->with_auth = act->with_auth;
	memset(us->have, 0, sizeof(us->have));
	if(act->with_auth) {
		memset(&us->ch, 0, sizeof(us->ch));
		memset(&us->cr, 0, sizeof(us->cr));
		const struct
		{
			ur_str_t *to;
			str from;
		} copies[] = {
				{&us->cr.username, ul_str(ul, ROW_AUTH_USERNAME)},
				{&us->cr.password, ul_str(ul, ROW_AUTH_PASSWORD)},
				{&us->cr.ha1, ul_str(ul, ROW_AUTH_HA1)},
		};
		for(i = 0; i < (int)(sizeof(copies) / sizeof(copies[0])); i++)
			if(usend_copy(us->buf, sizeof(us->buf), &pos, copies[i].to,
					   copies[i].from)
					< 0)
				return -1;
		/* every kept challenge is answered: a proxy's and the
		 * registrar's together (RFC 3261 22.3) */
		for(k = 0; k < LINE_CH_KINDS; k++) {
			if(!(ul->sm.have_nonce & LINE_CH_BIT(k)))
				continue;
			us->have[k] = 1;
			us->ch[k].alg = ul->ch_alg[k];
			us->ch[k].qop = ul->ch_qop[k];
			us->nc[k] = ul->sm.nc[k];
			if(usend_copy(us->buf, sizeof(us->buf), &pos, &us->ch[k].realm,
					   ul_dyn(ul, UL_CH(k, UL_CH_REALM)))
							< 0
					|| usend_copy(us->buf, sizeof(us->buf), &pos,
							   &us->ch[k].nonce,
							   ul_dyn(ul, UL_CH(k, UL_CH_NONCE)))
							   < 0
					|| usend_copy(us->buf, sizeof(us->buf), &pos,
							   &us->ch[k].opaque,
							   ul_dyn(ul, UL_CH(k, UL_CH_OPAQUE)))
							   < 0)
				return -1;
		}
	}
	us->sock = ul->sock;
	us->cseq = act->cseq;
	us->cbp = usend_pack(ul->id, ustore_gen(ul), act->attempt);
	return 0;
}

/* After the lock: the credentials, one header per kept challenge
 * (Proxy-Authorization first, then Authorization). 0 or -1 (a challenge
 * cannot be answered). */
static int usend_finish(struct usend *us)
{
	static const int order[LINE_CH_KINDS] = {LINE_CH_PROXY, LINE_CH_WWW};
	const char *name;
	size_t nlen, room;
	char *auth;
	int alen, i, k;

	if(!us->with_auth)
		return 0;
	for(i = 0; i < LINE_CH_KINDS; i++) {
		k = order[i];
		if(!us->have[k])
			continue;
		name = k == LINE_CH_PROXY ? "Proxy-Authorization: " : "Authorization: ";
		nlen = strlen(name);
		/* after Contact, Expires and any header before, over their NUL */
		auth = us->hdrs.s + us->hdrs.len;
		room = sizeof(us->hdr_buf) - (size_t)(auth - us->hdr_buf);
		if(room < nlen + 3)
			return -1;
		memcpy(auth, name, nlen);
		alen = usend_auth(us, k, auth + nlen, room - nlen - 3);
		if(alen < 0 || (size_t)alen + nlen + 3 > room)
			return -1;
		memcpy(auth + nlen + alen, "\r\n", 3); /* and the NUL */
		us->hdrs.len += (int)nlen + alen + 2;
	}
	return 0;
}

static void usend_reply_cb(struct cell *t, int type, struct tmcb_params *ps);

static struct usend usend_buf;

void usend_register(struct uline *ul, const struct line_send *act)
{
	static str method = str_init("REGISTER");
	struct usend *us;
	struct line_env env;
	uac_req_t uac_r;
	dlg_t dlg;
	uint32_t id, gen, attempt;
	int ret, built, fenced = 0;

	/* One per process, not pkg_malloc()ed: ~10 KB asked of qm_malloc and
	 * freed again for every REGISTER walked pkg's free lists (a visible
	 * part of the uacreg process's profile). A process sends one REGISTER
	 * at a time and nothing below calls back into here. */
	us = &usend_buf;
	if(usend_prepare(&ul, act, us) < 0) {
		str uuid = ul_str(ul, ROW_L_UUID);
		/* ours, not the carrier's: a retry that never counts */
		LM_ERR("line [%.*s]: cannot build the REGISTER (%s): retry, not "
			   "counted\n",
				uuid.len, uuid.s,
				"no shared memory for a new dialog, or a header too long");
		env = ustore_env_for(ul);
		ustore_apply(
				ul, ustore_carrier_outcome(ul,
							line_on_send_error(&ul->sm, act->attempt, &env), 0,
							0, &env));
		return;
	}
	id = ul->id;
	gen = ustore_gen(ul);
	attempt = act->attempt;
	ustore_unlock();

	built = usend_finish(us) == 0;
	if(!built) {
		ret = -1;
		goto failed;
	}
	memset(&dlg, 0, sizeof(dlg));
	dlg.id.call_id = us->call_id;
	dlg.id.loc_tag = us->from_tag;
	/* t_request_within() increments it */
	dlg.loc_seq.value = us->cseq - 1;
	dlg.loc_seq.is_set = 1;
	dlg.loc_uri = us->from;
	dlg.rem_uri = us->to;
	dlg.rem_target = us->ruri;
	if(us->proxy.len)
		dlg.dst_uri = us->proxy;
	dlg.send_sock = us->sock;
	dlg.state = DLG_CONFIRMED;

	memset(&uac_r, 0, sizeof(uac_r));
	uac_r.method = &method;
	uac_r.headers = &us->hdrs;
	uac_r.dialog = &dlg;
	uac_r.cb_flags = TMCB_LOCAL_COMPLETED;
	uac_r.cb = usend_reply_cb;
	uac_r.cbp = (void *)us->cbp;
	if(us->sock == NULL && uacreg_default_socket.len > 0)
		uac_r.ssock = &uacreg_default_socket;
	/* HA: the fence again, at the last moment (without the lock: one
	 * aligned word): a process paused between the decision and here (a
	 * SIGSTOP) must not send on waking up */
	if(uacreg_ha_mode != HA_OFF && uclock_now() >= uha->fence_until) {
		fenced = 1;
		ret = -1;
		goto failed;
	}
	ret = uacreg_tmb.t_request_within(&uac_r);
	if(ret >= 0)
		counter_inc(uacreg_cnt_sent);
failed:

	ustore_lock();
	if(ret < 0) {
		ul = ustore_get(id, gen);
		if(ul) {
			str uuid = ul_str(ul, ROW_L_UUID);
			if(fenced)
				LM_DBG("line [%.*s]: not sent: no lease (HA)\n", uuid.len,
						uuid.s);
			else if(built)
				LM_ERR("line [%.*s]: tm could not send the REGISTER (local): "
					   "retry, not counted\n",
						uuid.len, uuid.s);
			else
				LM_ERR("line [%.*s]: cannot build the credentials: retry, "
					   "not counted\n",
						uuid.len, uuid.s);
			env = ustore_env_for(ul);
			ustore_apply(ul, ustore_carrier_outcome(ul,
									 line_on_send_error(&ul->sm, attempt, &env),
									 0, 0, &env));
		}
	}
}

/* Our Contact among the reply's (RFC 3261 10.2.4): the one whose URI equals
 * the one we sent, compared as 19.1.4 says (user, password, host, port, and
 * the transport, user, ttl, method and maddr parameters). Another binding
 * with our user part (an old contact_addr of ours, another SBC's line with
 * the same l_uuid) is not ours. The same bytes are the same URI: no parse. */
static int usend_is_ours(ur_str_t uri, void *arg)
{
	str *ours = arg;
	str u = {(char *)uri.s, (int)uri.len};

	if(uri.len > (size_t)ROW_MAX_STR + 512)
		return 0; /* longer than any Contact of ours */
	if(u.len == ours->len && memcmp(u.s, ours->s, u.len) == 0)
		return 1;
	/* 0: equal; unparsable or different: not ours */
	return cmp_uri_str(&u, ours) == 0;
}

/* 1 when a row's HA1 (hex of its length, 0 = a password) can answer alg */
static int usend_ha1_fits(enum digest_alg alg, int ha1_len)
{
	if(ha1_len == 0)
		return 1;
	if(alg == DIGEST_ALG_MD5 || alg == DIGEST_ALG_MD5_SESS)
		return ha1_len == 32;
	return ha1_len == 64;
}

/* The strongest challenge of the reply that the line's secret can answer:
 * an MD5 HA1 cannot answer SHA-256, so a carrier offering both gets MD5. */
static void usend_challenge(const struct reply_scan *sc, int code, int ha1_len,
		struct line_reply *r)
{
	struct digest_challenge ch;
	enum rscan_ch_kind want = code == 407 ? RSCAN_CH_PROXY : RSCAN_CH_WWW;
	unsigned i;
	int rc;

	r->challenge_err = DIGEST_E_MALFORMED; /* none found */
	for(i = 0; i < sc->n_ch; i++) {
		if(sc->ch[i].kind != want)
			continue;
		rc = digest_parse_challenge(sc->ch[i].body.s, sc->ch[i].body.len, &ch);
		if(rc == 0 && !usend_ha1_fits(ch.alg, ha1_len))
			rc = DIGEST_E_HA1;
		if(rc < 0) {
			if(!r->has_challenge)
				r->challenge_err = rc;
			continue;
		}
		if(!r->has_challenge || digest_stronger(&ch, &r->ch) > 0) {
			r->ch = ch;
			r->has_challenge = 1;
			r->challenge_err = 0;
		}
	}
}

/* What the machine needs from a reply, read from its raw buffer by
 * reply_scan(): tm parsed the first line and what it matches on; parsing
 * every header and Contact into pkg memory (parse_headers(HDR_EOH_F),
 * parse_contact) was most of the CPU of a refresh. The challenges point
 * into the reply's buffer, which lives until the callback returns. */
static void usend_summarise(struct sip_msg *rpl, int code, const str *uuid,
		str *contact, int ha1_len, struct line_reply *r, int *listed)
{
	struct reply_scan sc;
	int ok2xx = code >= 200 && code < 300;

	*listed = -1;
	r->code = code;
	r->granted = -1;
	if(rpl == NULL || rpl == FAKED_REPLY) {
		r->local = 1;
		return;
	}
	if(reply_scan(rpl->buf, rpl->len,
			   ok2xx && contact->len > 0 ? usend_is_ours : NULL, contact, &sc)
			< 0) {
		LM_NOTICE("line [%.*s]: reply %d has malformed headers\n", uuid->len,
				uuid->s, code);
		return;
	}
	if(code == 401 || code == 407)
		usend_challenge(&sc, code, ha1_len, r);
	else if(ok2xx) {
		r->granted = sc.granted;
		*listed = sc.listed;
	}
	if(sc.min_expires >= 0)
		r->min_expires = (uint32_t)sc.min_expires;
	if(sc.retry_after >= 0)
		r->retry_after = (uint32_t)sc.retry_after;
}

/* Keeps the reply's reason phrase and, when the machine says so, its
 * challenge (in the slot of its kind) for answers and refreshes. The line
 * may move: *ulp follows. -1 when the challenge could not be kept. */
static int usend_keep_reply(struct uline **ulp, const struct line_reply *r,
		str reason, int keep_challenge)
{
	const str *vals[UL_DYN_COUNT] = {0};
	int k = line_ch_kind(r->code);
	str realm = {(char *)r->ch.realm.s, (int)r->ch.realm.len};
	str nonce = {(char *)r->ch.nonce.s, (int)r->ch.nonce.len};
	str opaque = {(char *)r->ch.opaque.s, (int)r->ch.opaque.len};

	if(r->local)
		reason = r->code == 408 ? (str)str_init("local timeout")
								: (str)str_init("local error");
	if(reason.len > UL_REASON_MAX)
		reason.len = UL_REASON_MAX;
	vals[UL_REASON] = &reason;
	if(keep_challenge) {
		vals[UL_CH(k, UL_CH_REALM)] = &realm;
		vals[UL_CH(k, UL_CH_NONCE)] = &nonce;
		vals[UL_CH(k, UL_CH_OPAQUE)] = &opaque;
	}
	if(ul_set_dyn(ulp, vals) < 0) {
		if(!keep_challenge)
			return 0; /* only the reason phrase is lost */
		/* the reason alone, so the log says what came */
		vals[UL_CH(k, UL_CH_REALM)] = NULL;
		vals[UL_CH(k, UL_CH_NONCE)] = NULL;
		vals[UL_CH(k, UL_CH_OPAQUE)] = NULL;
		ul_set_dyn(ulp, vals);
		return -1;
	}
	if(!keep_challenge)
		return 0;
	(*ulp)->ch_alg[k] = (uint8_t)r->ch.alg;
	(*ulp)->ch_qop[k] = (uint8_t)r->ch.qop;
	return 0;
}

static void usend_log(const struct uline *ul, const struct line_reply *r,
		int bits, int listed)
{
	str uuid = ul_str(ul, ROW_L_UUID);
	str reason = ul_dyn(ul, UL_REASON);

	if(bits & LINE_R_NEW_DIALOG_LEARNT)
		LM_NOTICE("line [%.*s]: 400 to credentials in the same dialog: "
				  "switching to a new dialog for re-authentication\n",
				uuid.len, uuid.s);
	if(bits & LINE_R_CEILING)
		LM_WARN("line [%.*s]: failure ceiling reached after %u failures "
				"(last %d %.*s, %s): stopped\n",
				uuid.len, uuid.s, ul->sm.fail_count, r->code, reason.len,
				reason.s, line_fail_class_name(ul->sm.fail_class));
	else if(bits & LINE_R_FAILED)
		LM_NOTICE("line [%.*s]: REGISTER failed: %d %.*s (%s, %u counted, "
				  "retry in %llu ms)\n",
				uuid.len, uuid.s, r->code, reason.len, reason.s,
				line_fail_class_name(ul->sm.fail_class), ul->sm.fail_count,
				(unsigned long long)(ul->sm.due ? ul->sm.due - uclock_now()
												: 0));
	if((bits & LINE_R_FAILED) && ul->sm.fail_class == LINE_FC_BAD_CHALLENGE) {
		str realm = ul_str(ul, ROW_REALM);
		/* a usable challenge fails by its realm (line.c checks it first)
		 * or by calling answer after answer stale */
		if(!r->has_challenge)
			LM_NOTICE("line [%.*s]: the challenge was unusable (error %d)\n",
					uuid.len, uuid.s, r->challenge_err);
		else if(realm.len > 0 && !ur_str_eq(usend_ur(realm), r->ch.realm))
			LM_NOTICE("line [%.*s]: the %s challenge is for realm [%.*s], "
					  "not the row's [%.*s]%s\n",
					uuid.len, uuid.s, r->code == 407 ? "proxy" : "registrar",
					(int)r->ch.realm.len, r->ch.realm.s, realm.len, realm.s,
					r->code == 407 ? " (a proxy in its own realm is answered "
									 "only when the row names it in "
									 "auth_proxy)"
								   : "");
		else if(!r->ch.stale)
			LM_NOTICE("line [%.*s]: challenge after challenge in new realms "
					  "(%d in one attempt): starting over after the "
					  "backoff\n",
					uuid.len, uuid.s, LINE_CH_ROUNDS_MAX + 1);
		else
			LM_NOTICE("line [%.*s]: the carrier calls every answer stale "
					  "(stale=true): starting over after the backoff\n",
					uuid.len, uuid.s);
	}
	if(r->code == 423 && uacreg_cfg.min_expires_max > 0
			&& r->min_expires > uacreg_cfg.min_expires_max)
		LM_WARN("line [%.*s]: 423 asks Min-Expires %u, above min_expires_max "
				"%u: asking for %u at most\n",
				uuid.len, uuid.s, r->min_expires, uacreg_cfg.min_expires_max,
				uacreg_cfg.min_expires_max);
	if((bits & LINE_R_REGISTERED) && listed == 0)
		LM_NOTICE("line [%.*s]: 200 OK does not list our Contact; assuming "
				  "%u s\n",
				uuid.len, uuid.s, ul->sm.granted);
	if((bits & LINE_R_REGISTERED) && (bits & LINE_R_STATE))
		LM_INFO("line [%.*s]: registered for %u s\n", uuid.len, uuid.s,
				ul->sm.granted);
}

/* the line of a callback parameter, under the lock; NULL when it was
 * removed or replaced since the request left */
static struct uline *usend_line_of(uint32_t id, uint32_t gen16)
{
	struct uline *ul = ustore_line_by_id(id);

	if(ul == NULL || (ustore_gen(ul) & 0xffff) != gen16)
		return NULL;
	return ul;
}

static void usend_reply_cb(struct cell *t, int type, struct tmcb_params *ps)
{
	struct line_reply r;
	struct line_env env;
	struct uline *ul;
	(void)t;
	(void)type;
	uint32_t id, gen16, attempt16;
	int bits, line_bits, listed, ha1_len = 0, k, kept = 0;
	char uuid_buf[ROW_MAX_STR];
	/* our Contact URI as sent: sip:<l_uuid>@<contact_addr> */
	char contact_buf[ROW_MAX_STR + 512];
	str uuid = {uuid_buf, 0}, reason = STR_NULL, contact = {contact_buf, 0};

	if(ps->param == NULL)
		return;
	usend_unpack((uintptr_t)*ps->param, &id, &gen16, &attempt16);
	memset(&r, 0, sizeof(r));
	if(ps->rpl && ps->rpl != FAKED_REPLY)
		reason = ps->rpl->first_line.u.reply.reason;

	/* Parsing the reply (its headers, Contacts, challenges) is most of the
	 * work here and needs only the l_uuid and the kind of secret: it runs
	 * outside the lock, which the other SIP workers and the uacreg process
	 * would otherwise spin on. */
	ustore_lock();
	ul = usend_line_of(id, gen16);
	if(ul) {
		str u = ul_str(ul, ROW_L_UUID);
		str caddr = ul_str(ul, ROW_CONTACT_ADDR);
		int n;
		memcpy(uuid_buf, u.s, u.len);
		uuid.len = u.len;
		ha1_len = ul->slen[ROW_AUTH_HA1];
		if(caddr.len == 0)
			caddr = uacreg_default_contact;
		/* memcpy, not snprintf: this runs for every reply */
		n = 4 + u.len + 1 + caddr.len;
		if(n < (int)sizeof(contact_buf)) {
			memcpy(contact_buf, "sip:", 4);
			memcpy(contact_buf + 4, u.s, u.len);
			contact_buf[4 + u.len] = '@';
			memcpy(contact_buf + 5 + u.len, caddr.s, caddr.len);
			contact.len = n;
		}
	}
	ustore_unlock();
	if(ul == NULL) {
		LM_INFO("reply %d for a line removed or replaced since: ignored\n",
				ps->code);
		return;
	}
	usend_summarise(ps->rpl, ps->code, &uuid, &contact, ha1_len, &r, &listed);

	ustore_lock();
	ul = usend_line_of(id, gen16);
	if(ul == NULL) {
		ustore_unlock();
		LM_INFO("line [%.*s]: reply %d for a line removed or replaced "
				"since: ignored\n",
				uuid.len, uuid.s, ps->code);
		return;
	}
	/* the reply answers the request in flight only if the attempt matches */
	r.attempt = (ul->sm.attempt & 0xffff) == attempt16 ? ul->sm.attempt
													   : ul->sm.attempt + 1;
	env = ustore_env_for(ul);
	/* what the machine needs to tell a refused answer from a new
	 * challenge: the realm of the challenge of this kind we answered */
	k = line_ch_kind(r.code);
	if(ul->sm.have_nonce & LINE_CH_BIT(k))
		r.kept_realm = usend_ur(ul_dyn(ul, UL_CH(k, UL_CH_REALM)));
	r.row_has_proxy = ul->slen[ROW_AUTH_PROXY] > 0;
	line_bits =
			line_on_reply(&ul->sm, &r, usend_ur(ul_str(ul, ROW_REALM)), &env);
	/* the carrier may hold the ceiling route: the log says what the line
	 * did, the carrier rule logs the hold */
	bits = ustore_carrier_outcome(ul, line_bits, r.code, r.retry_after, &env);
	if(!(bits & LINE_R_IGNORED)) {
		kept = bits & LINE_R_KEEP_CHALLENGE;
		if(usend_keep_reply(&ul, &r, reason, kept) < 0) {
			/* An answer must never be built from a nonce other than the
			 * one the carrier just sent: the carrier would refuse it and
			 * the line would count a wrong password. Ours, not counted. */
			str u = ul_str(ul, ROW_L_UUID);
			int le = line_on_local_error(&ul->sm, &env);
			LM_ERR("line [%.*s]: cannot keep the %d challenge (no shared "
				   "memory): retry after the backoff, not counted\n",
					u.len, u.s, r.code);
			bits |= le;
			line_bits |= le;
			kept = 0;
		}
		usend_log(ul, &r, line_bits, listed);
	}
	ustore_apply(ul, bits);
	ustore_unlock();
	if(kept)
		counter_inc(uacreg_cnt_challenges);
	if(bits & LINE_R_NEW_DIALOG_LEARNT)
		counter_inc(uacreg_cnt_new_dialog_learnt);
}
