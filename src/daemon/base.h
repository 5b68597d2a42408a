/* The built-in `base` template: registered in the store at start-up, and built in a child
 * process (`sbx internal build-base`) when its layer is missing. Progress lines of the build
 * go to the daemon's log; the template's status says building, ready or error. */
#pragma once

struct daemon;

/* Registers the template and starts the build if needed. */
int base_template_start(struct daemon *d);
/* Stops a running build (it is resumed from scratch at the next start). */
void base_template_stop(struct daemon *d);
