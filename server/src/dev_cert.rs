//! Certificates made on the spot, for development and tests: a certificate authority of its own
//! and server certificates it signs. `imstatus dev-cert` writes them as PEM files; the tests make
//! them in memory. Never for production: the CA's key is as safe as the directory it is in.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate authority made on the spot.
pub struct DevCa {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate the CA signed, and its key, as PEM.
#[derive(Debug, Clone)]
pub struct DevCert {
    pub cert_pem: String,
    pub key_pem: String,
    /// The certificate itself, DER, for pins and comparisons.
    pub cert_der: Vec<u8>,
}

impl DevCa {
    /// A new CA named `name`, valid from a day ago for a year.
    pub fn new(name: &str) -> DevCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names is valid");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        validity(&mut params);
        let key = KeyPair::generate().expect("a key can be made");
        let cert = params.self_signed(&key).expect("the CA signs itself");
        DevCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA's certificate, PEM: what a client adds to the roots it trusts.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by the CA.
    pub fn server_cert(&self, names: &[&str]) -> DevCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("valid names");
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, first);
        }
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params);
        let key = KeyPair::generate().expect("a key can be made");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the CA signs the certificate");
        DevCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }
}

fn validity(params: &mut CertificateParams) {
    let now = std::time::SystemTime::now();
    let day = std::time::Duration::from_secs(86_400);
    params.not_before = (now - day).into();
    params.not_after = (now + 365 * day).into();
}
