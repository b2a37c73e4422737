//! Queue agents' feature codes (`[agents]`): what a phone dials to log in to its queues, log
//! out, pause (alone, or with a reason digit: `*47` `2`) and end a pause. The dial plan reads
//! them before numbers ([`crate::DialPlan::route`]), so `crossbar route explain *472` shows what
//! the switch will do: answer the phone, apply the change to the queues, say it, hang up.
//!
//! The codes are in force only on a site with queues; a pause code followed by a digit that is
//! not one of `pause_reasons` is not a feature code (it is routed like any other string).

use std::fmt;

use crossbar_config::Agents;

/// What an agent's feature code asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentFeature {
    /// `login_code`: log in to every queue the extension is a member of.
    Login,
    /// `logout_code`: log out of every queue.
    Logout,
    /// `pause_code`, alone (`reason: None`) or followed by a reason digit (the reason's name).
    Pause { reason: Option<String> },
    /// `unpause_code`: end the pause.
    Unpause,
}

impl AgentFeature {
    /// `login`, `logout`, `pause`, `unpause`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AgentFeature::Login => "login",
            AgentFeature::Logout => "logout",
            AgentFeature::Pause { .. } => "pause",
            AgentFeature::Unpause => "unpause",
        }
    }
}

impl fmt::Display for AgentFeature {
    /// `login`, `logout`, `pause`, `pause (lunch)`, `unpause`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentFeature::Pause {
                reason: Some(reason),
            } => write!(f, "pause ({reason})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The feature `dialled` (cleaned of spaces and dashes) asks for, if it is one of `agents`'
/// codes.
pub(crate) fn feature(agents: &Agents, dialled: &str) -> Option<AgentFeature> {
    if dialled == agents.login_code {
        return Some(AgentFeature::Login);
    }
    if dialled == agents.logout_code {
        return Some(AgentFeature::Logout);
    }
    if dialled == agents.unpause_code {
        return Some(AgentFeature::Unpause);
    }
    let after = dialled.strip_prefix(agents.pause_code.as_str())?;
    let mut digits = after.chars();
    match (digits.next(), digits.next()) {
        (None, _) => Some(AgentFeature::Pause { reason: None }),
        (Some(digit), None) => agents
            .pause_reason(digit)
            .map(|reason| AgentFeature::Pause {
                reason: Some(reason.to_owned()),
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_code_takes_a_configured_reason_digit_and_nothing_else() {
        let agents = Agents {
            pause_reasons: vec![('1', "lunch".to_owned()), ('2', "training".to_owned())],
            ..Agents::default()
        };
        assert_eq!(feature(&agents, "*45"), Some(AgentFeature::Login));
        assert_eq!(feature(&agents, "*46"), Some(AgentFeature::Logout));
        assert_eq!(feature(&agents, "*48"), Some(AgentFeature::Unpause));
        assert_eq!(
            feature(&agents, "*47"),
            Some(AgentFeature::Pause { reason: None })
        );
        assert_eq!(
            feature(&agents, "*472"),
            Some(AgentFeature::Pause {
                reason: Some("training".to_owned())
            })
        );
        assert_eq!(feature(&agents, "*479"), None, "9 is no reason");
        assert_eq!(feature(&agents, "*4712"), None);
        assert_eq!(feature(&agents, "*4"), None);
        assert_eq!(feature(&agents, "201"), None);
    }
}
