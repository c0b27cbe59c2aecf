#ifndef FLEET_MOSQUITTO_SHIMS_H
#define FLEET_MOSQUITTO_SHIMS_H
#include <mosquitto.h>

/// The libmosquitto version as major*1000000 + minor*1000 + revision.
int fleet_mosquitto_version(void);

#endif
