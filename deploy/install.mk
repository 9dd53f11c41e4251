# deploy/install.mk -- `make install` (included by the top-level Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=/staging/root]
#
# Installs (docs/deploy.md lists the tree):
#   $(PREFIX)/bin/mailtap, $(PREFIX)/bin/mailtap-<tool>      0755
#   $(PREFIX)/share/man/man8/mailtap.8                        0644
#       (/usr/local paths in it rewritten for PREFIX)
#   $(PREFIX)/share/mailtap/catalog.json                      0644
#   /lib/systemd/system/mailtap.service                       0644
#       (ExecStart points at $(PREFIX)/bin/mailtap)
#   /etc/mailtap/mailtap.yaml                                 0644
#       (only when deploy/mailtap.yaml exists, /usr/local paths in it
#       rewritten for PREFIX; an existing file is kept
#       and the new sample goes next to it as mailtap.yaml.dist)
# every path under $(DESTDIR).  Uses the Makefile's PREFIX, DESTDIR, BUILD,
# BIN and TOOL_BIN.  Creates no user (the unit uses DynamicUser=yes) and
# does not touch systemd; after a real install run
#   systemctl daemon-reload && systemctl enable --now mailtap

INSTALL       ?= install
UNITDIR       ?= /lib/systemd/system
SYSCONFDIR    ?= /etc
INST_BINDIR   := $(DESTDIR)$(PREFIX)/bin
INST_MAN8DIR  := $(DESTDIR)$(PREFIX)/share/man/man8
INST_DATADIR  := $(DESTDIR)$(PREFIX)/share/mailtap
INST_UNITDIR  := $(DESTDIR)$(UNITDIR)
INST_CONFDIR  := $(DESTDIR)$(SYSCONFDIR)/mailtap

# The man page and the sample configuration name /usr/local paths: they are
# installed with PREFIX in their place (the unit has @BINDIR@).
SED_PREFIX    := sed -e 's|/usr/local/|$(PREFIX)/|g' -e 's|^\(\.I \)/usr/local$$|\1$(PREFIX)|'

.PHONY: install

install: all
	$(INSTALL) -d -m 0755 $(INST_BINDIR) $(INST_MAN8DIR) $(INST_DATADIR) $(INST_UNITDIR)
	$(INSTALL) -m 0755 $(BIN) $(TOOL_BIN) $(INST_BINDIR)/
	$(SED_PREFIX) docs/mailtap.8 >$(INST_MAN8DIR)/mailtap.8.tmp
	chmod 0644 $(INST_MAN8DIR)/mailtap.8.tmp
	mv -f $(INST_MAN8DIR)/mailtap.8.tmp $(INST_MAN8DIR)/mailtap.8
	$(INSTALL) -m 0644 deploy/catalog.json $(INST_DATADIR)/catalog.json
	sed 's|@BINDIR@|$(PREFIX)/bin|g' deploy/mailtap.service > $(INST_UNITDIR)/mailtap.service.tmp
	chmod 0644 $(INST_UNITDIR)/mailtap.service.tmp
	mv -f $(INST_UNITDIR)/mailtap.service.tmp $(INST_UNITDIR)/mailtap.service
	@if [ -f deploy/mailtap.yaml ]; then \
		$(INSTALL) -d -m 0755 $(INST_CONFDIR); \
		$(SED_PREFIX) deploy/mailtap.yaml >$(INST_CONFDIR)/mailtap.yaml.new; \
		chmod 0644 $(INST_CONFDIR)/mailtap.yaml.new; \
		if [ -e $(INST_CONFDIR)/mailtap.yaml ]; then \
			echo "  keeping $(INST_CONFDIR)/mailtap.yaml; new sample in mailtap.yaml.dist"; \
			mv -f $(INST_CONFDIR)/mailtap.yaml.new $(INST_CONFDIR)/mailtap.yaml.dist; \
		else \
			echo "  installing $(INST_CONFDIR)/mailtap.yaml"; \
			mv -f $(INST_CONFDIR)/mailtap.yaml.new $(INST_CONFDIR)/mailtap.yaml; \
		fi; \
	fi
