package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ScriptHeaderTest {

  @Test
  void shellsGetTheirShebangAndStrictOptionsOthersOnlyTheirShebang() {
    assertThat(ScriptHeader.forInterpreter("bash", true).apply("make\n")).isEqualTo("#!/bin/bash\nset -euo pipefail\nmake\n");
    assertThat(ScriptHeader.forInterpreter("sh", true).apply("make\n")).isEqualTo("#!/bin/sh\nset -eu\nmake\n");
    assertThat(ScriptHeader.forInterpreter("zsh", true).apply("x\n")).isEqualTo("#!/usr/bin/env zsh\nset -euo pipefail\nx\n");
    assertThat(ScriptHeader.forInterpreter("python3", true).apply("print(1)\n")).isEqualTo("#!/usr/bin/env python3\nprint(1)\n");
    assertThat(ScriptHeader.forInterpreter("bash", false).apply("make\n")).isEqualTo("#!/bin/bash\nmake\n");
  }

  @Test
  void aScriptsOwnShebangStaysFirstAndTheOptionsFollowIt() {
    assertThat(ScriptHeader.forInterpreter("bash", true).apply("#!/usr/bin/env bash\nmake\n"))
        .isEqualTo("#!/usr/bin/env bash\nset -euo pipefail\nmake\n");
    assertThat(ScriptHeader.forInterpreter("node", true).apply("#!/usr/bin/node\nconsole.log(1)"))
        .isEqualTo("#!/usr/bin/node\nconsole.log(1)");
    assertThat(ScriptHeader.forInterpreter("bash", true).apply("#!/bin/bash")).isEqualTo("#!/bin/bash\nset -euo pipefail\n");
    assertThat(ScriptHeader.forInterpreter("bash", true).lines()).isEqualTo(2);
  }
}
