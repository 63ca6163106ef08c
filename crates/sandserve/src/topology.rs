//! The server's names and ports: the main host, the alternate hosts, the
//! domain names their subdomains make (IDNA-encoded), and the ports of every
//! scheme. Substitution, handlers, certificates and `sandserve hosts` read
//! them from here.

use std::collections::BTreeMap;

/// The host names a server answers to, as configured.
#[derive(Clone, Debug, Default)]
pub struct HostNames {
    /// The main host (`browser_host`).
    pub browser_host: String,
    /// The host the listeners bind to.
    pub server_host: String,
    /// Other hosts by key (`alternate_hosts`).
    pub alternate_hosts: BTreeMap<String, String>,
    /// Subdomain labels of every host.
    pub subdomains: Vec<String>,
    /// Labels that must not resolve.
    pub not_subdomains: Vec<String>,
}

/// Host names and ports, as handlers and templates see them.
#[derive(Clone, Debug, Default)]
pub struct Topology {
    browser_host: String,
    server_host: String,
    alternate_hosts: BTreeMap<String, String>,
    /// Host key (`""` for the main host, else the `alternate_hosts` key) →
    /// subdomain label (`""` for the host itself) → domain name.
    domains: BTreeMap<String, BTreeMap<String, String>>,
    not_subdomains: Vec<String>,
    /// Ports per scheme key, in configuration order.
    ports: BTreeMap<String, Vec<u16>>,
}

/// A subdomain label that IDNA cannot encode.
#[derive(Debug)]
pub struct HostError {
    /// The label as configured.
    pub label: String,
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "subdomain {:?} cannot be IDNA-encoded", self.label)
    }
}

impl std::error::Error for HostError {}

impl Topology {
    /// The domains of `names`, with `ports` (scheme key → ports).
    pub fn new(names: HostNames, ports: BTreeMap<String, Vec<u16>>) -> Result<Topology, HostError> {
        let mut domains = BTreeMap::new();
        let mut all = vec![(String::new(), names.browser_host.clone())];
        all.extend(names.alternate_hosts.clone());
        for (key, host) in all {
            let mut of_host = BTreeMap::new();
            of_host.insert(String::new(), host.clone());
            for label in names.subdomains.iter().chain(&names.not_subdomains) {
                let ascii = idna::domain_to_ascii(label).map_err(|_| HostError {
                    label: label.clone(),
                })?;
                of_host.insert(label.clone(), format!("{ascii}.{host}"));
            }
            domains.insert(key, of_host);
        }
        Ok(Topology {
            browser_host: names.browser_host,
            server_host: names.server_host,
            alternate_hosts: names.alternate_hosts,
            domains,
            not_subdomains: names.not_subdomains,
            ports,
        })
    }

    /// `localhost` alone, with no ports: for tests.
    #[cfg(test)]
    pub fn localhost() -> Topology {
        let names = HostNames {
            browser_host: "localhost".into(),
            server_host: "localhost".into(),
            ..HostNames::default()
        };
        Topology::new(names, BTreeMap::new()).expect("plain names")
    }

    /// The ports as bound, replacing those given before.
    pub fn set_ports(&mut self, ports: BTreeMap<String, Vec<u16>>) {
        self.ports = ports;
    }

    /// The main host name (`browser_host`).
    pub fn browser_host(&self) -> &str {
        &self.browser_host
    }

    /// The host the listeners bind to.
    pub fn server_host(&self) -> &str {
        &self.server_host
    }

    /// The alternate host configured under `key`.
    pub fn alternate_host(&self, key: &str) -> Option<&str> {
        self.alternate_hosts.get(key).map(String::as_str)
    }

    /// The domain of `subdomain` (`""`: the host itself) under host `key`
    /// (`""`: the main host).
    pub fn domain(&self, key: &str, subdomain: &str) -> Option<&str> {
        self.domains.get(key)?.get(subdomain).map(String::as_str)
    }

    /// The alternate hosts: key and host name, in key order.
    pub fn alternate_hosts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.alternate_hosts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The subdomain labels every host has (not the `not_subdomains`).
    pub fn subdomains(&self) -> impl Iterator<Item = &str> {
        self.domains
            .get("")
            .into_iter()
            .flat_map(|d| d.keys())
            .filter(|label| !label.is_empty() && !self.not_subdomains.contains(label))
            .map(String::as_str)
    }

    /// The labels that must not resolve.
    pub fn not_subdomains(&self) -> &[String] {
        &self.not_subdomains
    }

    /// The schemes that have ports, in name order.
    pub fn schemes(&self) -> impl Iterator<Item = &str> {
        self.ports.keys().map(String::as_str)
    }

    /// Whether `key` names a host.
    pub fn has_host(&self, key: &str) -> bool {
        self.domains.contains_key(key)
    }

    /// The ports of a scheme key (`http`, `https`, …), in configuration order.
    pub fn ports(&self, scheme: &str) -> Option<&[u16]> {
        self.ports.get(scheme).map(Vec::as_slice)
    }

    /// The domains that should resolve (not the `not_subdomains` ones), in
    /// the ASCII form a hosts file needs.
    pub fn resolvable_domains(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .domains
            .values()
            .flat_map(|d| d.iter())
            .filter(|(label, _)| !self.not_subdomains.contains(label))
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
        let names = HostNames {
            browser_host: "web-platform.test".into(),
            server_host: "web-platform.test".into(),
            alternate_hosts: [("alt".to_string(), "not-web-platform.test".to_string())].into(),
            subdomains: vec!["www".into(), "élève".into(), "天気の良い日".into()],
            not_subdomains: vec!["nonexistent".into()],
        };
        let ports = BTreeMap::from([("http".to_string(), vec![8000, 8001])]);
        let t = Topology::new(names, ports).unwrap();
        assert_eq!(t.domain("", ""), Some("web-platform.test"));
        assert_eq!(t.domain("", "www"), Some("www.web-platform.test"));
        assert_eq!(
            t.domain("", "élève"),
            Some("xn--lve-6lad.web-platform.test")
        );
        assert_eq!(
            t.domain("", "天気の良い日"),
            Some("xn--n8j6ds53lwwkrqhv28a.web-platform.test")
        );
        assert_eq!(t.domain("alt", "www"), Some("www.not-web-platform.test"));
        assert_eq!(
            t.domain("", "nonexistent"),
            Some("nonexistent.web-platform.test")
        );
        assert_eq!(t.domain("", "www9"), None);
        assert_eq!(t.all_domains().len(), 10);
        assert_eq!(t.resolvable_domains().len(), 8);
        assert_eq!(t.ports("http"), Some(&[8000, 8001][..]));
        assert_eq!(t.ports("https"), None);
        assert_eq!(t.alternate_host("alt"), Some("not-web-platform.test"));
        assert_eq!(t.server_host(), "web-platform.test");
    }

    #[test]
    fn a_label_idna_refuses_is_an_error() {
        let names = HostNames {
            subdomains: vec!["xn--a".into()],
            ..HostNames::default()
        };
        let err = Topology::new(names, BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("cannot be IDNA-encoded"), "{err}");
    }
}
