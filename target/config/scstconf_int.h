/*
 * scstconf_int.h — what the files of the scst.conf front end share:
 * scstconf_lex.c (tokens, statements, values, diagnostics), scstconf.c
 * (parameters, users, devices, the file) and scstconf_tgt.c (targets,
 * LUNs, groups, portals, ALUA device groups).  The grammar is at the top
 * of scstconf.c.
 */
#ifndef UT_SCSTCONF_INT_H
#define UT_SCSTCONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define CFG_MAX_ARGS 32	      /* values on one line */
#define CFG_NO_GROUP SIZE_MAX /* a target's default LUN set */

enum cfg_tok_type {
	CFG_T_EOF,
	CFG_T_NL,
	CFG_T_LBRACE,
	CFG_T_RBRACE,
	CFG_T_WORD
};

struct cfg_tok {
	enum cfg_tok_type type;
	char *s; /* CFG_T_WORD: the text, unescaped (malloc) */
	int line, col;
};

struct cfg_stmt {
	struct cfg_tok key;
	struct cfg_tok args[CFG_MAX_ARGS];
	size_t nargs;
	bool block; /* "{" followed: the body is still unread */
};

/* A LUN whose device is looked up once the whole file is read. */
struct cfg_ref {
	int line, col;
	size_t target, group, lun;
};

struct cfg_parser {
	struct ut_config *cfg;
	const char *file;
	const char *buf;
	size_t len, pos;
	int line, col;
	struct cfg_tok peek;
	bool have_peek;
	ut_config_diag_fn diag;
	void *diag_arg;
	uint32_t *tmask; /* per target: bit i = sets cfg_params[i] */
	size_t tmask_count;
	struct cfg_ref *refs;
	size_t ref_count;
	size_t initiators; /* INITIATOR lines so far, all groups */
};

typedef int (*cfg_stmt_fn)(struct cfg_parser *p, struct cfg_stmt *st,
			   void *ctx);

/* An iSCSI parameter of a target or the driver (scstconf.c). */
enum cfg_ptype {
	CFG_P_U32,
	CFG_P_BOOL,
	CFG_P_DIGEST,
	CFG_P_ERL,     /* ErrorRecoveryLevel: accepted, 0 offered */
	CFG_P_MAXCONN, /* MaxConnections: accepted, 1 offered */
};

struct cfg_param {
	const char *key;
	enum cfg_ptype type;
	uint32_t min, max;
	size_t off;	  /* the field in struct ut_iscsi_params */
	size_t count_off; /* CFG_P_DIGEST: the list's count */
};

/* The parameters, indexed as cfg_find_param() answers. */
extern const struct cfg_param cfg_params[];

/* scstconf_lex.c */
int cfg_diag(struct cfg_parser *p, int severity, int line, int col,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define cfg_err(p, tok, ...) \
	cfg_diag((p), 1, (tok)->line, (tok)->col, __VA_ARGS__)
#define cfg_warn(p, tok, ...) \
	cfg_diag((p), 0, (tok)->line, (tok)->col, __VA_ARGS__)
int cfg_nomem(struct cfg_parser *p, const struct cfg_tok *t);
void cfg_tok_free(struct cfg_tok *t);
int cfg_body(struct cfg_parser *p, const struct cfg_stmt *opener,
	     cfg_stmt_fn fn, void *ctx);
int cfg_skip(struct cfg_parser *p, const struct cfg_stmt *opener);
bool cfg_key(const struct cfg_stmt *st, const char *key);
int cfg_unsupported(struct cfg_parser *p, struct cfg_stmt *st,
		    const char *owner);
int cfg_one(struct cfg_parser *p, const struct cfg_stmt *st, const char **val);
int cfg_bool(struct cfg_parser *p, const struct cfg_stmt *st, bool *out);
int cfg_name(struct cfg_parser *p, const struct cfg_stmt *st, size_t cap,
	     const char **out);
int cfg_text(struct cfg_parser *p, const struct cfg_stmt *st, const char *owner,
	     char *dst, size_t cap);
int cfg_uint(struct cfg_parser *p, const struct cfg_stmt *st, uint64_t min,
	     uint64_t max, uint64_t *out);

/* scstconf.c */
int cfg_find_param(const struct cfg_stmt *st);
int cfg_param_set(struct cfg_parser *p, const struct cfg_stmt *st,
		  const struct cfg_param *par, struct ut_iscsi_params *dst);
int cfg_user(struct cfg_parser *p, const struct cfg_stmt *st,
	     struct ut_user_cfg *u);
int cfg_user_add(struct cfg_parser *p, const struct cfg_stmt *st,
		 struct ut_user_cfg **users, size_t *count);

/* scstconf_tgt.c */
int cfg_driver(struct cfg_parser *p, struct cfg_stmt *st);
int cfg_dev_group(struct cfg_parser *p, struct cfg_stmt *st);

#endif
