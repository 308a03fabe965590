/*
 * uacreg - kamcmd uacreg.* commands.
 */
#ifndef UACREG_RPC_H
#define UACREG_RPC_H

#include "../../core/rpc.h"

extern rpc_export_t urpc_cmds[];

#endif
