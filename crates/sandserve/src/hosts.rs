//! Host names: the main and alternate hosts, and the domain names their
//! subdomains make (IDNA-encoded), as substitutions and certificates see them.

use std::collections::BTreeMap;

use crate::config::Config;

/// Every configured host and its subdomains.
#[derive(Clone, Debug, Default)]
pub struct Hosts {
    /// Host key (`""` for the main host, else the `alternate_hosts` key) →
    /// subdomain label (`""` for the host itself) → domain name.
    domains: BTreeMap<String, BTreeMap<String, String>>,
}

/// A subdomain label that IDNA cannot encode.
#[derive(Debug)]
pub struct HostError(pub String);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Hosts {
    /// Computes every domain of the configuration.
    pub fn from_config(config: &Config) -> Result<Hosts, HostError> {
        let mut hosts = BTreeMap::new();
        let mut all = vec![(String::new(), config.browser_host.clone())];
        all.extend(config.alternate_hosts.clone());
        for (key, host) in all {
            let mut domains = BTreeMap::new();
            domains.insert(String::new(), host.clone());
            for label in config.subdomains.iter().chain(&config.not_subdomains) {
                let ascii = idna::domain_to_ascii(label).map_err(|_| {
                    HostError(format!("subdomain {label:?} cannot be IDNA-encoded"))
                })?;
                domains.insert(label.clone(), format!("{ascii}.{host}"));
            }
            hosts.insert(key, domains);
        }
        Ok(Hosts { domains: hosts })
    }

    /// The domain of `subdomain` (`""`: the host itself) under host `key`
    /// (`""`: the main host).
    pub fn domain(&self, key: &str, subdomain: &str) -> Option<&str> {
        self.domains.get(key)?.get(subdomain).map(String::as_str)
    }

    /// Whether `key` names a host.
    pub fn has_host(&self, key: &str) -> bool {
        self.domains.contains_key(key)
    }

    /// The domains that should resolve (not the `not_subdomains` ones), in
    /// the ASCII form a hosts file needs.
    pub fn resolvable_domains(&self, config: &Config) -> Vec<String> {
        let mut out: Vec<String> = self
            .domains
            .values()
            .flat_map(|d| d.iter())
            .filter(|(label, _)| !config.not_subdomains.contains(label))
            .map(|(_, domain)| domain.clone())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every domain name of every host, without repeats.
    pub fn all_domains(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .domains
            .values()
            .flat_map(|d| d.values().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_idna_encoded() {
        let config = Config {
            browser_host: "web-platform.test".into(),
            alternate_hosts: [("alt".to_string(), "not-web-platform.test".to_string())].into(),
            subdomains: vec!["www".into(), "élève".into(), "天気の良い日".into()],
            not_subdomains: vec!["nonexistent".into()],
            ..Config::default()
        };
        let h = Hosts::from_config(&config).unwrap();
        assert_eq!(h.domain("", ""), Some("web-platform.test"));
        assert_eq!(h.domain("", "www"), Some("www.web-platform.test"));
        assert_eq!(
            h.domain("", "élève"),
            Some("xn--lve-6lad.web-platform.test")
        );
        assert_eq!(
            h.domain("", "天気の良い日"),
            Some("xn--n8j6ds53lwwkrqhv28a.web-platform.test")
        );
        assert_eq!(h.domain("alt", "www"), Some("www.not-web-platform.test"));
        assert_eq!(
            h.domain("", "nonexistent"),
            Some("nonexistent.web-platform.test")
        );
        assert_eq!(h.domain("", "www9"), None);
        assert_eq!(h.all_domains().len(), 10);
    }
}
