#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers, when
# they are missing. Runs as root on CI and on the developers' machines.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have tmux || need+=(tmux)
have openssl || need+=(openssl)
have swaks || need+=(swaks)
# swaks --tls needs Net::SSLeay.
perl -MNet::SSLeay -e1 >/dev/null 2>&1 || need+=(libnet-ssleay-perl)
# swaks -6 (the IPv6 listener test) needs IO::Socket::INET6.
perl -MIO::Socket::INET6 -e1 >/dev/null 2>&1 || need+=(libio-socket-inet6-perl)
# Postfix is the real sending MTA of the MTA tests and the comparison of
# `make bench`; smtpd/postfix live in /usr/sbin.
have postfix || [ -x /usr/sbin/postfix ] || need+=(postfix)
have testssl || have testssl.sh || need+=(testssl.sh)
# dnsmasq serves MX records for test domains on a loopback port; it lives
# in /usr/sbin.
have dnsmasq || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq)
have taskset || need+=(util-linux)
# slapd is the real LDAP server of the ldapconfig tests (its stats log
# shows each connection's source address); ldap-utils to query it by hand.
have slapd || [ -x /usr/sbin/slapd ] || need+=(slapd)
have ldapsearch || need+=(ldap-utils)
# DNSSEC and DANE (resolver/dnstest): NSD serves zones signed by
# ldns-signzone, Unbound validates them; both live in /usr/sbin.
have nsd || [ -x /usr/sbin/nsd ] || need+=(nsd)
have unbound || [ -x /usr/sbin/unbound ] || need+=(unbound)
have ldns-signzone || need+=(ldnsutils)
# The system trust store (certconfig CERTAUTHORITY SYSTEM and its test).
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
# The SSH tests log in with the real OpenSSH client, passwords through sshpass.
have ssh || need+=(openssh-client)
have ssh-keyscan || need+=(openssh-client)
have scp || need+=(openssh-client)  # file transfer: scp, scp -O, sftp -b
have sftp || need+=(openssh-client)
have sshpass || need+=(sshpass)
# The HTTPS tests load the status page in real headless Chromium, which
# trusts the test CA through an NSS database made with certutil.
have chromium || have chromium-browser || need+=(chromium)
have certutil || need+=(libnss3-tools)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "testdeps: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "testdeps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; the tests run private instances
# with their own configuration, so the system one stays unconfigured.
if printf '%s\n' "${need[@]}" | grep -qx postfix; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "postfix postfix/mailname string esash-test.invalid" | debconf-set-selections
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
