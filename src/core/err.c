/* err.c - lookups into the error table declared in err.h. */
#include "core/err.h"

struct hr_err_row {
	const char *name;
	int status;
	const char *atype, *type, *code, *msg;
};

static const struct hr_err_row rows[] = {
#define HR_ERR_ROW_(name, status, atype, type, code, msg)                                          \
	{"E" #name, status, atype, type, code, msg},
    HR_ERR_MAP(HR_ERR_ROW_)
#undef HR_ERR_ROW_
};

static const struct hr_err_row *row(int err)
{
	int i = err - HR_ERR_BASE_ - 1;
	if (i < 0 || i >= (int)(sizeof rows / sizeof rows[0]))
		i = HR_EINTERNAL - HR_ERR_BASE_ - 1;
	return &rows[i];
}

int hr_err_status(int err)
{
	return row(err)->status;
}
const char *hr_err_type(int err)
{
	return row(err)->type;
}
const char *hr_err_anthropic_type(int err)
{
	return row(err)->atype;
}
const char *hr_err_code(int err)
{
	return row(err)->code;
}
const char *hr_err_msg(int err)
{
	return row(err)->msg;
}
const char *hr_err_name(int err)
{
	return err == HR_OK ? "OK" : row(err)->name;
}
