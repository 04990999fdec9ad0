//! The sign-in form: a login typed for the connected registry.

use crate::model::reference::Registry;
use crate::protocol::{Command, Event, RequestId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInState {
    pub open: bool,
    pub username: String,
    /// Cleared as soon as it is sent.
    pub password: String,
    /// Keep the login in the OS keychain.
    pub remember: bool,
    pub error: Option<String>,
    request: Option<RequestId>,
}

impl Default for SignInState {
    /// Closed and empty; a login is kept in the keychain unless the user says otherwise.
    fn default() -> Self {
        SignInState { open: false, username: String::new(), password: String::new(), remember: true, error: None, request: None }
    }
}

impl SignInState {
    pub fn is_pending(&self) -> bool {
        self.request.is_some()
    }

    /// Whether `event` answers this form's request.
    pub fn answers(&self, event: &Event) -> bool {
        self.request == Some(event.id())
    }

    /// Fold in the answer: the form closes on success, shows the error otherwise. `false`: not
    /// this form's.
    pub fn apply(&mut self, event: &Event) -> bool {
        if !self.answers(event) {
            return false;
        }
        self.request = None;
        match event {
            Event::Failed { error, .. } => self.error = Some(error.clone()),
            _ => {
                self.open = false;
                self.error = None;
            }
        }
        true
    }

    /// Send the login for `registry` as request `id`; the password leaves the form.
    pub fn submit(&mut self, registry: Registry, id: RequestId) -> Vec<Command> {
        if self.username.trim().is_empty() || self.password.is_empty() {
            self.error = Some("give a user name and a password (or token)".into());
            return Vec::new();
        }
        self.request = Some(id);
        self.error = None;
        let password = std::mem::take(&mut self.password);
        vec![Command::SignIn { id, registry, username: self.username.trim().to_string(), password, remember: self.remember }]
    }

    /// Close the form, forgetting a password typed but not sent.
    pub fn close(&mut self) {
        self.open = false;
        self.password.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_form_when_sent_and_a_refusal_keeps_it_open() {
        let reg = Registry::parse("127.0.0.1:5000").unwrap();
        let mut f = SignInState { open: true, username: "ann".into(), ..SignInState::default() };
        assert!(f.submit(reg.clone(), 1).is_empty(), "no password: nothing sent");
        assert!(f.error.is_some());
        f.password = "secret".into();
        let cmds = f.submit(reg, 2);
        assert!(matches!(&cmds[..], [Command::SignIn { id: 2, password, remember: true, .. }] if password == "secret"));
        assert!(f.password.is_empty() && f.is_pending());
        assert!(!f.apply(&Event::Failed { id: 1, error: "old".into() }));
        assert!(f.apply(&Event::Failed { id: 2, error: "unauthorized".into() }));
        assert!(f.open && f.error.as_deref() == Some("unauthorized") && !f.is_pending());
    }
}
