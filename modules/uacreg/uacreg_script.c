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
 * uacreg - functions, $uacreg(...), KEMI and event routes (see
 * uacreg_script.h).
 */
#include <stdio.h>

#include "../../core/dprint.h"
#include "../../core/mod_fix.h"
#include "../../core/route.h"
#include "../../core/action.h"
#include "../../core/fmsg.h"
#include "../../core/kemi.h"
#include "../../core/dset.h"
#include "../../core/lvalue.h"
#include "../../core/parser/parse_uri.h"
#include "uacreg_script.h"

/* the line an event route is running for, NULL outside of them */
static struct usnap *uscript_current = NULL;
static int uscript_in_ceiling = 0;
static int uscript_rt_ceiling = -1;
static int uscript_rt_state = -1;
static int uscript_rt_reload = -1;
static int uscript_rt_carrier = -1;
static str uscript_ev_reload = str_init("uacreg:reload");

/* modparams ceiling_route, state_route, carrier_route (event route names,
 * or the names the KEMI callback gets) and event_callback */
#define USCRIPT_EV_CEILING "uacreg:ceiling"
#define USCRIPT_EV_STATE "uacreg:state"
#define USCRIPT_EV_CARRIER "uacreg:carrier"
str uacreg_ceiling_route = str_init(USCRIPT_EV_CEILING);
str uacreg_state_route = str_init(USCRIPT_EV_STATE);
str uacreg_carrier_route = str_init(USCRIPT_EV_CARRIER);
str uacreg_event_callback = STR_NULL;
/* the held reload event_route[uacreg:reload] runs for, NULL outside it */
static const struct ureload_event *uscript_reload = NULL;

int uscript_init(void)
{
	/* an empty name is the default one */
	if(uacreg_ceiling_route.len <= 0)
		uacreg_ceiling_route = (str)str_init(USCRIPT_EV_CEILING);
	if(uacreg_state_route.len <= 0)
		uacreg_state_route = (str)str_init(USCRIPT_EV_STATE);
	if(uacreg_carrier_route.len <= 0)
		uacreg_carrier_route = (str)str_init(USCRIPT_EV_CARRIER);
	uscript_rt_ceiling = route_lookup(&event_rt, uacreg_ceiling_route.s);
	if(uscript_rt_ceiling >= 0 && event_rt.rlist[uscript_rt_ceiling] == NULL)
		uscript_rt_ceiling = -1;
	uscript_rt_carrier = route_lookup(&event_rt, uacreg_carrier_route.s);
	if(uscript_rt_carrier >= 0 && event_rt.rlist[uscript_rt_carrier] == NULL)
		uscript_rt_carrier = -1;
	uscript_rt_state = route_lookup(&event_rt, uacreg_state_route.s);
	if(uscript_rt_state >= 0 && event_rt.rlist[uscript_rt_state] == NULL)
		uscript_rt_state = -1;
	uscript_rt_reload = route_lookup(&event_rt, uscript_ev_reload.s);
	if(uscript_rt_reload >= 0 && event_rt.rlist[uscript_rt_reload] == NULL)
		uscript_rt_reload = -1;
	if(faked_msg_init() < 0) {
		LM_ERR("cannot init the faked message for event routes\n");
		return -1;
	}
	return 0;
}

static void uscript_run(int rt, str *evname, struct usnap *s)
{
	sr_kemi_eng_t *keng = NULL;
	sip_msg_t *fmsg;
	int backup_rt;

	if(rt < 0) {
		if(uacreg_event_callback.len <= 0)
			return;
		keng = sr_kemi_eng_get();
		if(keng == NULL)
			return;
	}
	uscript_current = s;
	fmsg = faked_msg_next();
	backup_rt = get_route_type();
	set_route_type(EVENT_ROUTE);
	if(rt >= 0) {
		run_top_route(event_rt.rlist[rt], fmsg, 0);
	} else if(sr_kemi_route(
					  keng, fmsg, EVENT_ROUTE, &uacreg_event_callback, evname)
			  < 0) {
		LM_ERR("the KEMI callback failed for %.*s\n", evname->len, evname->s);
	}
	set_route_type(backup_rt);
	uscript_current = NULL;
}

int uscript_run_ceiling(struct usnap *s)
{
	s->keep = 0;
	s->defer = 0;
	uscript_in_ceiling = 1;
	uscript_run(uscript_rt_ceiling, &uacreg_ceiling_route, s);
	uscript_in_ceiling = 0;
	return s->keep;
}

void uscript_run_state(struct usnap *s)
{
	uscript_run(uscript_rt_state, &uacreg_state_route, s);
}

void uscript_run_carrier(struct usnap *s)
{
	uscript_run(uscript_rt_carrier, &uacreg_carrier_route, s);
}

void uscript_run_reload(const struct ureload_event *ev)
{
	uscript_reload = ev;
	uscript_run(uscript_rt_reload, &uscript_ev_reload, NULL);
	uscript_reload = NULL;
}

/* $uacreg(name): the fields an event route reads; never a secret */
enum uscript_field
{
	UF_L_UUID = 0,
	UF_L_USERNAME,
	UF_L_DOMAIN,
	UF_R_USERNAME,
	UF_R_DOMAIN,
	UF_AUTH_USERNAME,
	UF_AUTH_PROXY,
	UF_STATE,
	UF_FAIL_CLASS,
	UF_LAST_REASON,
	UF_LAST_CODE,
	UF_FAIL_COUNT,
	UF_FAIL_CEILING,
	UF_NEW_DIALOG_IN_USE,
	UF_ROW_ID,
	UF_CARRIER, /* also in event_route[uacreg:carrier] */
	UF_CARRIER_LINES,
	UF_CARRIER_STATE,
	UF_RELOAD_REMOVING, /* event_route[uacreg:reload] only */
	UF_RELOAD_LINES,
	UF_RELOAD_GUARD,
	UF_HA_EVENT, /* HA: "takeover", "lost" or "" */
	UF_OWNER,
	UF_EPOCH,
	UF_COUNT
};

static const char *const uscript_field_names[UF_COUNT] = {"l_uuid",
		"l_username", "l_domain", "r_username", "r_domain", "auth_username",
		"auth_proxy", "state", "fail_class", "last_reason", "last_code",
		"fail_count", "fail_ceiling", "new_dialog_in_use", "row_id", "carrier",
		"carrier_lines", "carrier_state", "reload_removing", "reload_lines",
		"reload_guard", "ha_event", "owner", "epoch"};

/* The name is checked once, when the script is loaded: a typo such as
 * $uacreg(fail_cnt) stops Kamailio at start-up instead of reading $null in
 * the middle of a ceiling. */
static int pv_parse_uacreg(pv_spec_t *sp, str *in)
{
	int i;

	if(in == NULL || in->len <= 0)
		return -1;
	for(i = 0; i < UF_COUNT; i++) {
		if(strlen(uscript_field_names[i]) == (size_t)in->len
				&& strncmp(uscript_field_names[i], in->s, in->len) == 0)
			break;
	}
	if(i == UF_COUNT) {
		LM_ERR("unknown $uacreg field [%.*s] (see the module README, "
			   "$uacreg(field))\n",
				in->len, in->s);
		return -1;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0; /* an integer name: the field */
	sp->pvp.pvn.u.isname.name.n = i;
	return 0;
}

/* the fields of event_route[uacreg:reload] */
static int pv_get_uacreg_reload(
		sip_msg_t *msg, pv_param_t *param, int f, pv_value_t *res)
{
	const struct ureload_event *ev = uscript_reload;

	switch(f) {
		case UF_RELOAD_REMOVING:
			return pv_get_sintval(msg, param, res, (int)ev->would_remove);
		case UF_RELOAD_LINES:
			return pv_get_sintval(msg, param, res, (int)ev->lines);
		case UF_RELOAD_GUARD:
			return pv_get_sintval(msg, param, res, ev->guard);
		default:
			return pv_get_null(msg, param, res);
	}
}

static int pv_get_uacreg(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	struct usnap *s = uscript_current;
	int f = param->pvn.u.isname.name.n;
	const char *v = NULL;

	if(uscript_reload)
		return pv_get_uacreg_reload(msg, param, f, res);
	if(s == NULL)
		return pv_get_null(msg, param, res);
	switch(f) {
		case UF_L_UUID:
			v = s->l_uuid;
			break;
		case UF_L_USERNAME:
			v = s->l_username;
			break;
		case UF_L_DOMAIN:
			v = s->l_domain;
			break;
		case UF_R_USERNAME:
			v = s->r_username;
			break;
		case UF_R_DOMAIN:
			v = s->r_domain;
			break;
		case UF_AUTH_USERNAME:
			v = s->auth_username;
			break;
		case UF_AUTH_PROXY:
			v = s->auth_proxy;
			break;
		case UF_STATE:
			v = line_state_name(s->state);
			break;
		case UF_FAIL_CLASS:
			v = line_fail_class_name(s->fail_class);
			break;
		case UF_LAST_REASON:
			v = s->reason;
			break;
		case UF_ROW_ID:
			v = s->row_id;
			break;
		case UF_CARRIER:
			v = s->carrier;
			break;
		case UF_CARRIER_STATE:
			v = carrier_state_name(s->carrier_state);
			break;
		case UF_CARRIER_LINES:
			return pv_get_sintval(msg, param, res, s->carrier_lines);
		case UF_LAST_CODE:
			return pv_get_sintval(msg, param, res, s->last_code);
		case UF_FAIL_COUNT:
			return pv_get_sintval(msg, param, res, (int)s->fail_count);
		case UF_FAIL_CEILING:
			return pv_get_sintval(msg, param, res, (int)s->fail_ceiling);
		case UF_NEW_DIALOG_IN_USE:
			return pv_get_sintval(msg, param, res, s->new_dialog_in_use);
		case UF_HA_EVENT:
			v = s->ha_event ? s->ha_event : "";
			break;
		case UF_OWNER:
			v = s->owner;
			break;
		case UF_EPOCH:
			return pv_get_sintval(msg, param, res, (int)s->epoch);
		default: /* a field of another event */
			return pv_get_null(msg, param, res);
	}
	return pv_get_strzval(msg, param, res, (char *)v);
}

pv_export_t uscript_pvs[] = {
		{{"uacreg", sizeof("uacreg") - 1}, PVT_OTHER, pv_get_uacreg, 0,
				pv_parse_uacreg, 0, 0, 0},
		{{0, 0}, 0, 0, 0, 0, 0, 0, 0}};

/* --- functions, each a KEMI function and a cfg wrapper --- */

static int ki_uacreg_command(sip_msg_t *msg, str *l_uuid, enum ustore_cmd cmd)
{
	int rc = ustore_command(l_uuid, cmd);
	(void)msg;
	if(rc == -1)
		LM_NOTICE("no line with l_uuid [%.*s]\n", l_uuid->len, l_uuid->s);
	return rc < 0 ? rc : 1;
}

static int ki_uacreg_enable(sip_msg_t *msg, str *l_uuid)
{
	return ki_uacreg_command(msg, l_uuid, USTORE_ENABLE);
}
static int ki_uacreg_disable(sip_msg_t *msg, str *l_uuid)
{
	return ki_uacreg_command(msg, l_uuid, USTORE_DISABLE);
}
static int ki_uacreg_refresh(sip_msg_t *msg, str *l_uuid)
{
	return ki_uacreg_command(msg, l_uuid, USTORE_REFRESH);
}

/* 1 registered, -1 not (yet) registered, -2 disabled or stopped, -3 no
 * such line */
static int ki_uacreg_status(sip_msg_t *msg, str *l_uuid)
{
	struct uline *ul;
	int rc;
	(void)msg;

	ustore_lock();
	ul = ustore_find(l_uuid);
	if(ul == NULL)
		rc = -3;
	else if(ul->sm.state == LINE_DISABLED || ul->sm.state == LINE_CEILING
			|| ul->sm.state == LINE_REMOVED)
		rc = -2;
	else if(ul->sm.expires_at > uclock_now())
		rc = 1;
	else
		rc = -1;
	ustore_unlock();
	return rc;
}

static int ki_uacreg_keep(sip_msg_t *msg)
{
	(void)msg;
	if(uscript_current == NULL || !uscript_in_ceiling) {
		LM_ERR("uacreg_keep() works only in event_route[uacreg:ceiling]\n");
		return -1;
	}
	uscript_current->keep = 1;
	return 1;
}

/* The ceiling route could not do its work (its archive write failed):
 * nothing is deleted or disabled, and the route runs again later. */
static int ki_uacreg_defer(sip_msg_t *msg)
{
	(void)msg;
	if(uscript_current == NULL || !uscript_in_ceiling) {
		LM_ERR("uacreg_defer() works only in event_route[uacreg:ceiling]\n");
		return -1;
	}
	uscript_current->defer = 1;
	return 1;
}

/* The attribute a script looks a line up by. l_uuid is a hash lookup; the
 * others scan the lines (fine for the occasional call, not per packet at
 * 100,000 lines). */
static int uscript_attr(str *attr)
{
	static const struct
	{
		const char *name;
		enum row_str f;
	} attrs[] = {{"l_uuid", ROW_L_UUID}, {"l_username", ROW_L_USERNAME},
			{"r_username", ROW_R_USERNAME},
			{"auth_username", ROW_AUTH_USERNAME}};
	unsigned i;

	for(i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if(attr->len == (int)strlen(attrs[i].name)
				&& strncmp(attr->s, attrs[i].name, attr->len) == 0)
			return attrs[i].f;
	return -1;
}

struct uscript_find_arg
{
	int f;
	const str *value;
};

static int uscript_match(struct uline *ul, void *arg)
{
	struct uscript_find_arg *a = arg;
	str v = ul_str(ul, a->f);

	return v.len == a->value->len && memcmp(v.s, a->value->s, v.len) == 0;
}

/* the line whose attribute equals value, under the lock */
static struct uline *uscript_find(int f, str *value)
{
	struct uscript_find_arg a = {f, value};

	if(f == ROW_L_UUID)
		return ustore_find(value);
	return ustore_foreach(uscript_match, &a);
}

/* stores the l_uuid of the line whose attr equals value into dst */
static int uscript_lookup(sip_msg_t *msg, str *attr, str *value, pv_spec_t *dst)
{
	pv_value_t val;
	char uuid[ROW_MAX_STR + 1];
	struct uline *ul;
	int f = uscript_attr(attr);

	if(f < 0) {
		LM_ERR("unknown attribute [%.*s]: use l_uuid, l_username, "
			   "r_username or auth_username\n",
				attr->len, attr->s);
		return -1;
	}
	if(dst == NULL || dst->setf == NULL) {
		LM_ERR("the third parameter is not a writable variable\n");
		return -1;
	}
	ustore_lock();
	ul = uscript_find(f, value);
	if(ul)
		usnap_copy(uuid, ul_str(ul, ROW_L_UUID));
	ustore_unlock();
	if(ul == NULL)
		return -1;
	memset(&val, 0, sizeof(val));
	val.flags = PV_VAL_STR;
	val.rs.s = uuid;
	val.rs.len = strlen(uuid);
	if(dst->setf(msg, &dst->pvp, (int)EQ_T, &val) < 0)
		return -1;
	return 1;
}

static int ki_uacreg_lookup(sip_msg_t *msg, str *attr, str *value, str *dst)
{
	pv_spec_t *sp = pv_cache_get(dst);

	if(sp == NULL) {
		LM_ERR("[%.*s] is not a variable\n", dst->len, dst->s);
		return -1;
	}
	return uscript_lookup(msg, attr, value, sp);
}

/* modparams auth_realm_avp / auth_username_avp / auth_password_avp, as
 * stock uac */
str uacreg_auth_realm_avp = STR_NULL;
str uacreg_auth_username_avp = STR_NULL;
str uacreg_auth_password_avp = STR_NULL;

static int uscript_set_pv(sip_msg_t *msg, str *name, str *value)
{
	pv_spec_t *sp;
	pv_value_t val;

	if(name->len <= 0)
		return 0;
	sp = pv_cache_get(name);
	if(sp == NULL || sp->setf == NULL) {
		LM_ERR("[%.*s] is not a writable variable\n", name->len, name->s);
		return -1;
	}
	memset(&val, 0, sizeof(val));
	val.flags = PV_VAL_STR;
	val.rs = *value;
	return sp->setf(msg, &sp->pvp, (int)EQ_T, &val) < 0 ? -1 : 0;
}

/* Points a request at a line's carrier and sets the credentials uac_auth()
 * reads. mode bit 0: 0 = by l_uuid, 1 = by l_username; bit 1 (value 2):
 * give the HA1 instead of the password (when the row has one). As stock
 * uac_reg_request_to(), but it returns 2 when the secret set is an HA1
 * (uac_auth("1") then) and 1 for a password: a row with one kind of
 * secret gives that one whatever the mode. */
static int ki_uacreg_request_to(sip_msg_t *msg, str *user, int mode)
{
	char ruri[2 * ROW_MAX_STR + 8], proxy[ROW_MAX_STR + 1];
	char realm[ROW_MAX_STR + 1], auser[ROW_MAX_STR + 1];
	char secret[ROW_MAX_STR + 1];
	str sruri, sproxy, srealm, suser, ssecret;
	struct uline *ul;
	str ru, rd;
	int rc = -1, use_ha1 = 0;

	ustore_lock();
	ul = uscript_find((mode & 1) ? ROW_L_USERNAME : ROW_L_UUID, user);
	if(ul) {
		ru = ul_str(ul, ROW_R_USERNAME);
		rd = ul_str(ul, ROW_R_DOMAIN);
		sruri.s = ruri;
		sruri.len = snprintf(ruri, sizeof(ruri), "sip:%.*s@%.*s", ru.len, ru.s,
				rd.len, rd.s);
		usnap_copy(proxy, ul_str(ul, ROW_AUTH_PROXY));
		usnap_copy(realm, ul_str(ul, ROW_REALM));
		usnap_copy(auser, ul_str(ul, ROW_AUTH_USERNAME));
		/* the secret the row has: a row with only an HA1 gives its HA1
		 * whatever mode asked, and says so (2), so uac_auth("1") is
		 * used; never an empty password */
		use_ha1 = (mode & 2) ? ul->slen[ROW_AUTH_HA1] != 0
							 : ul->slen[ROW_AUTH_PASSWORD] == 0;
		usnap_copy(
				secret, ul_str(ul, use_ha1 ? ROW_AUTH_HA1 : ROW_AUTH_PASSWORD));
	}
	ustore_unlock();
	if(ul == NULL)
		return -1;
	sproxy.s = proxy;
	sproxy.len = strlen(proxy);
	srealm.s = realm;
	srealm.len = strlen(realm);
	suser.s = auser;
	suser.len = strlen(auser);
	ssecret.s = secret;
	ssecret.len = strlen(secret);
	if(rewrite_uri(msg, &sruri) < 0) {
		LM_ERR("cannot set the request URI\n");
		goto done;
	}
	if(sproxy.len > 0 && set_dst_uri(msg, &sproxy) < 0) {
		LM_ERR("cannot set the outbound proxy\n");
		goto done;
	}
	if(uscript_set_pv(msg, &uacreg_auth_realm_avp, &srealm) < 0
			|| uscript_set_pv(msg, &uacreg_auth_username_avp, &suser) < 0
			|| uscript_set_pv(msg, &uacreg_auth_password_avp, &ssecret) < 0)
		goto done;
	rc = use_ha1 ? 2 : 1;
done:
	memset(secret, 0, sizeof(secret));
	return rc;
}

/* the cfg wrappers of the functions that take one l_uuid */
static int w_uacreg_uuid(
		sip_msg_t *msg, char *p1, int (*ki)(sip_msg_t *msg, str *l_uuid))
{
	str s;
	if(fixup_get_svalue(msg, (gparam_t *)p1, &s) < 0)
		return -1;
	return ki(msg, &s);
}
static int w_uacreg_enable(sip_msg_t *msg, char *p1, char *p2)
{
	(void)p2;
	return w_uacreg_uuid(msg, p1, ki_uacreg_enable);
}
static int w_uacreg_disable(sip_msg_t *msg, char *p1, char *p2)
{
	(void)p2;
	return w_uacreg_uuid(msg, p1, ki_uacreg_disable);
}
static int w_uacreg_refresh(sip_msg_t *msg, char *p1, char *p2)
{
	(void)p2;
	return w_uacreg_uuid(msg, p1, ki_uacreg_refresh);
}
static int w_uacreg_status(sip_msg_t *msg, char *p1, char *p2)
{
	(void)p2;
	return w_uacreg_uuid(msg, p1, ki_uacreg_status);
}
static int w_uacreg_keep(sip_msg_t *msg, char *p1, char *p2)
{
	(void)p1;
	(void)p2;
	return ki_uacreg_keep(msg);
}
static int w_uacreg_defer(sip_msg_t *msg, char *p1, char *p2)
{
	(void)p1;
	(void)p2;
	return ki_uacreg_defer(msg);
}
static int w_uacreg_lookup(sip_msg_t *msg, char *p1, char *p2, char *p3)
{
	str attr, value;
	if(fixup_get_svalue(msg, (gparam_t *)p1, &attr) < 0
			|| fixup_get_svalue(msg, (gparam_t *)p2, &value) < 0)
		return -1;
	return uscript_lookup(msg, &attr, &value, (pv_spec_t *)p3);
}

/* attribute and value are strings with variables; the third parameter is
 * the variable to write, not a value */
static int fixup_uacreg_lookup(void **param, int param_no)
{
	if(param_no < 3)
		return fixup_spve_null(param, 1);
	return fixup_pvar_null(param, 1);
}

static int fixup_free_uacreg_lookup(void **param, int param_no)
{
	if(param_no < 3)
		return fixup_free_spve_null(param, 1);
	return fixup_free_pvar_null(param, 1);
}
static int w_uacreg_request_to(sip_msg_t *msg, char *p1, char *p2)
{
	str user;
	int mode = 0;
	if(fixup_get_svalue(msg, (gparam_t *)p1, &user) < 0)
		return -1;
	if(p2 && fixup_get_ivalue(msg, (gparam_t *)p2, &mode) < 0)
		return -1;
	return ki_uacreg_request_to(msg, &user, mode);
}

cmd_export_t uscript_cmds[] = {
		{"uacreg_enable", (cmd_function)w_uacreg_enable, 1, fixup_spve_null,
				fixup_free_spve_null, ANY_ROUTE},
		{"uacreg_disable", (cmd_function)w_uacreg_disable, 1, fixup_spve_null,
				fixup_free_spve_null, ANY_ROUTE},
		{"uacreg_refresh", (cmd_function)w_uacreg_refresh, 1, fixup_spve_null,
				fixup_free_spve_null, ANY_ROUTE},
		{"uacreg_status", (cmd_function)w_uacreg_status, 1, fixup_spve_null,
				fixup_free_spve_null, ANY_ROUTE},
		{"uacreg_keep", (cmd_function)w_uacreg_keep, 0, 0, 0, EVENT_ROUTE},
		{"uacreg_defer", (cmd_function)w_uacreg_defer, 0, 0, 0, EVENT_ROUTE},
		/* three parameters: Kamailio calls it with three, whatever the
		 * type says; through void (*)(void), which -Wextra accepts */
		{"uacreg_lookup", (cmd_function)(void (*)(void))w_uacreg_lookup, 3,
				fixup_uacreg_lookup, fixup_free_uacreg_lookup, ANY_ROUTE},
		{"uacreg_request_to", (cmd_function)w_uacreg_request_to, 1,
				fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
		{"uacreg_request_to", (cmd_function)w_uacreg_request_to, 2,
				fixup_spve_igp, fixup_free_spve_igp, ANY_ROUTE},
		{0, 0, 0, 0, 0, 0}};

/* clang-format off */
static sr_kemi_t uscript_kemi_exports[] = {
	{ str_init("uacreg"), str_init("uacreg_enable"),
		SR_KEMIP_INT, ki_uacreg_enable,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("uacreg"), str_init("uacreg_disable"),
		SR_KEMIP_INT, ki_uacreg_disable,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("uacreg"), str_init("uacreg_refresh"),
		SR_KEMIP_INT, ki_uacreg_refresh,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("uacreg"), str_init("uacreg_status"),
		SR_KEMIP_INT, ki_uacreg_status,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("uacreg"), str_init("uacreg_keep"),
		SR_KEMIP_INT, ki_uacreg_keep,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("uacreg"), str_init("uacreg_defer"),
		SR_KEMIP_INT, ki_uacreg_defer,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("uacreg"), str_init("uacreg_lookup"),
		SR_KEMIP_INT, ki_uacreg_lookup,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("uacreg"), str_init("uacreg_request_to"),
		SR_KEMIP_INT, ki_uacreg_request_to,
		{ SR_KEMIP_STR, SR_KEMIP_INT, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int uscript_kemi_register(void)
{
	return sr_kemi_modules_add(uscript_kemi_exports);
}
