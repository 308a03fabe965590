/*
 * uacreg - building and sending a line's REGISTER through tm, and turning
 * the final reply into a struct line_reply for the state machine.
 */
#ifndef UACREG_SEND_H
#define UACREG_SEND_H

#include "uacreg_store.h"

/* Sends what line_on_due() decided for ul. Called WITH the store lock
 * held; releases it before handing the request to tm and takes it again
 * afterwards (the line may be gone by then: ul is not used after). */
void usend_register(struct uline *ul, const struct line_send *act);

#endif
