/* sbx-agent: PID 1 inside every sandbox. */
#include <stdio.h>

#include "common/banned.h"

int main(void)
{
    return 0;
}
