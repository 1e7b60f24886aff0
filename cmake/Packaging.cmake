# The Debian package (CPack's DEB generator): ./build.sh package, then
# build/package/mcp-sandbox_<VERSION>_amd64.deb. Everything it installs is
# declared here; the maintainer scripts are in packaging/deb/.
#
# Layout: /usr/bin/mcp-sandbox, /lib/systemd/system/mcp-sandbox.service,
# /etc/mcp-sandbox/mcp-sandbox.conf (conffile, 0600), /usr/share/doc/mcp-sandbox/.
# Created by postinst, never shipped: /etc/mcp-sandbox/secrets.env and /var/lib/mcp-sandbox.

set(MCP_SANDBOX_MAINTAINER "mcp-sandbox maintainers <maintainers@mcp-sandbox.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(package_dir ${CMAKE_BINARY_DIR}/package-files)
set(doc_dir share/doc/mcp-sandbox)
file(MAKE_DIRECTORY ${package_dir})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/systemd/mcp-sandbox.service ${PROJECT_SOURCE_DIR}/.env.example
  ${PROJECT_SOURCE_DIR}/CHANGELOG.md)

# The unit of systemd/, with the package's paths.
file(READ ${PROJECT_SOURCE_DIR}/systemd/mcp-sandbox.service unit)
string(REPLACE "/usr/local/bin/mcp-sandbox" "/usr/bin/mcp-sandbox" unit "${unit}")
string(REPLACE "file:///usr/local/share/doc/mcp-sandbox/" "file:///usr/share/doc/mcp-sandbox/" unit "${unit}")
if(NOT unit MATCHES "ExecStart=/usr/bin/mcp-sandbox serve")
  message(FATAL_ERROR "systemd/mcp-sandbox.service: ExecStart no longer names /usr/local/bin/mcp-sandbox")
endif()
file(WRITE ${package_dir}/mcp-sandbox.service "${unit}")

# The settings file: .env.example without its copy-me preamble, the compose-only
# section and the placeholder secrets (those are generated into secrets.env).
file(READ ${PROJECT_SOURCE_DIR}/.env.example settings)
string(FIND "${settings}" "\n\n" preamble_end)
string(FIND "${settings}" "\n# --- Compose only" compose_start)
if(preamble_end LESS 0 OR compose_start LESS preamble_end)
  message(FATAL_ERROR ".env.example: no preamble paragraph or no '# --- Compose only' section")
endif()
math(EXPR body_start "${preamble_end} + 2")
math(EXPR body_length "${compose_start} + 1 - ${body_start}")
string(SUBSTRING "${settings}" ${body_start} ${body_length} settings)
string(REGEX REPLACE "\nMCP_API_TOKEN=[^\n]*" "\n# MCP_API_TOKEN=  (generated into /etc/mcp-sandbox/secrets.env; a value here wins)" settings "${settings}")
string(REGEX REPLACE "\nFILE_SECRET=[^\n]*" "\n# FILE_SECRET=  (generated into /etc/mcp-sandbox/secrets.env; a value here wins)" settings "${settings}")
file(WRITE ${package_dir}/mcp-sandbox.conf
  "# mcp-sandbox settings for the systemd service (mcp-sandbox.service reads this\n"
  "# file after /etc/mcp-sandbox/secrets.env). Package upgrades never overwrite\n"
  "# your changes. Every setting is also a command-line flag (mcp-sandbox serve\n"
  "# --help); /usr/share/doc/mcp-sandbox/docs/configuration.md describes them.\n\n"
  "${settings}")

# changelog.gz in Debian's format, one entry for this version, dated like its
# CHANGELOG.md section (today while it is unreleased); CHANGELOG.md has the details.
file(READ ${PROJECT_SOURCE_DIR}/CHANGELOG.md changelog_md)
if(changelog_md MATCHES "\n## \\[${PROJECT_VERSION}\\] - ([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9])")
  set(release_date ${CMAKE_MATCH_1})
else()
  string(TIMESTAMP release_date "%Y-%m-%d" UTC)
endif()
execute_process(COMMAND date -u -R -d "${release_date} 00:00:00 UTC" OUTPUT_VARIABLE release_rfc2822
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
file(WRITE ${package_dir}/changelog
  "mcp-sandbox (${PROJECT_VERSION}) stable; urgency=medium\n\n"
  "  * Release ${PROJECT_VERSION}; the changes are in\n"
  "    /usr/share/doc/mcp-sandbox/CHANGELOG.md.gz.\n\n"
  " -- ${MCP_SANDBOX_MAINTAINER}  ${release_rfc2822}\n")
foreach(doc changelog)
  execute_process(COMMAND gzip -9nc ${package_dir}/${doc} OUTPUT_FILE ${package_dir}/${doc}.gz COMMAND_ERROR_IS_FATAL ANY)
endforeach()
execute_process(COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/CHANGELOG.md OUTPUT_FILE ${package_dir}/CHANGELOG.md.gz
                COMMAND_ERROR_IS_FATAL ANY)
file(WRITE ${package_dir}/conffiles "/etc/mcp-sandbox/mcp-sandbox.conf\n")

install(TARGETS mcp-sandbox RUNTIME DESTINATION bin)
install(FILES ${package_dir}/mcp-sandbox.service DESTINATION /lib/systemd/system)
install(FILES ${package_dir}/mcp-sandbox.conf DESTINATION /etc/mcp-sandbox PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/deb/copyright ${package_dir}/changelog.gz
              ${package_dir}/CHANGELOG.md.gz ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${doc_dir})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${doc_dir}/docs FILES_MATCHING PATTERN "*.md")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mcp-sandbox)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "${MCP_SANDBOX_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MCP_SANDBOX_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MCP server that runs untrusted code in fresh containers")
set(CPACK_PACKAGE_DESCRIPTION
  "mcp-sandbox is a Model Context Protocol server for AI assistants that runs
each program in its own fresh, ephemeral Docker container (Python,
TypeScript, JavaScript, Bash): limited CPU, memory and time, no network, a
non-root user and a read-only root filesystem. Each conversation keeps its
files in a directory of its own, optionally with a disk quota.
This package has the server and its systemd unit; the runner images are
built from the source tree (./build.sh images).")
# Depends: the shared libraries (dpkg-shlibdeps) plus what is not a library:
# mkfs.ext4 and mount for the quota volumes, CA certificates for a TLS engine.
# The engine itself may be Debian's, Docker's own (not in Debian) or remote.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "e2fsprogs, mount, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | docker-ce")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/deb/postinst ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
  ${PROJECT_SOURCE_DIR}/packaging/deb/postrm ${package_dir}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
include(CPack)
