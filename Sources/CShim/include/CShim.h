#ifndef FLEET_CSHIM_H
#define FLEET_CSHIM_H
// Functions that stand in for C macros and variadic calls that do not import into Swift.
// One header per library keeps the OpenSSL and libmosquitto shims apart.
#include "openssl_shims.h"
#include "mosquitto_shims.h"
#endif
