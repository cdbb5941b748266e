//! Azure's naming rules for the resource types the simulator serves. A name that breaks them gets
//! the provider's 400, never a stored resource with an impossible name.

use http::StatusCode;

use crate::sim::http::SimResponse;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NameRule {
    ContainerApp,
    ContainerAppsEnvironment,
    KeyVault,
    PostgresServer,
    StorageAccount,
    ContainerRegistry,
    LogAnalytics,
    Cdn,
    ResourceGroup,
    /// Any ARM resource name: 1–260 characters without control or reserved characters.
    Any,
}

fn lower_alnum_hyphen(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn alnum_hyphen(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// Returns a description of the rule when `name` breaks it.
pub fn violation(rule: NameRule, name: &str) -> Option<&'static str> {
    let len = name.chars().count();
    let first = name.chars().next();
    let last = name.chars().last();
    if name.chars().any(char::is_control) {
        return Some("a name cannot contain control characters");
    }
    match rule {
        NameRule::ContainerApp => (!((2..=32).contains(&len)
            && name.chars().all(lower_alnum_hyphen)
            && first.is_some_and(|c| c.is_ascii_lowercase())
            && last.is_some_and(|c| c.is_ascii_alphanumeric())
            && !name.contains("--")))
        .then_some("A name must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character and cannot have '--'. The length must not be more than 32 characters."),
        NameRule::ContainerAppsEnvironment => (!((2..=60).contains(&len)
            && name.chars().all(lower_alnum_hyphen)
            && first.is_some_and(|c| c.is_ascii_lowercase())
            && last.is_some_and(|c| c.is_ascii_alphanumeric())))
        .then_some("A name must be 2 to 60 lower case alphanumeric characters or '-', start with a letter and end with an alphanumeric character."),
        NameRule::KeyVault => (!((3..=24).contains(&len)
            && name.chars().all(alnum_hyphen)
            && first.is_some_and(|c| c.is_ascii_alphabetic())
            && last.is_some_and(|c| c.is_ascii_alphanumeric())
            && !name.contains("--")))
        .then_some("The vault name must be a 3-24 character string, containing only 0-9, a-z, A-Z, and not consecutive '-', starting with a letter and ending with a letter or digit."),
        NameRule::PostgresServer => (!((3..=63).contains(&len)
            && name.chars().all(lower_alnum_hyphen)
            && first != Some('-')
            && last != Some('-')))
        .then_some("Server name must be 3 to 63 characters of lower case letters, numbers and '-', and cannot start or end with '-'."),
        NameRule::StorageAccount => (!((3..=24).contains(&len)
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())))
        .then_some("Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."),
        NameRule::ContainerRegistry => (!((5..=50).contains(&len)
            && name.chars().all(|c| c.is_ascii_alphanumeric())))
        .then_some("Registry names may contain only alpha numeric characters and must be between 5 and 50 characters."),
        NameRule::LogAnalytics => (!((4..=63).contains(&len)
            && name.chars().all(alnum_hyphen)
            && first.is_some_and(|c| c.is_ascii_alphanumeric())
            && last.is_some_and(|c| c.is_ascii_alphanumeric())))
        .then_some("Workspace name must be 4 to 63 characters of letters, digits and '-', starting and ending with a letter or digit."),
        NameRule::Cdn => (!((1..=260).contains(&len)
            && name.chars().all(alnum_hyphen)
            && first.is_some_and(|c| c.is_ascii_alphanumeric())
            && last.is_some_and(|c| c.is_ascii_alphanumeric())))
        .then_some("Name must be 1 to 260 characters of letters, digits and '-', starting and ending with a letter or digit."),
        NameRule::ResourceGroup => (!((1..=90).contains(&len)
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
            && last != Some('.')))
        .then_some("Resource group names only allow up to 90 characters and can only include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters."),
        NameRule::Any => (!(1..=260).contains(&len)
            || name.chars().any(|c| matches!(c, '<' | '>' | '*' | '%' | '&' | ':' | '\\' | '?' | '/' | '#')))
        .then_some("Resource names must be 1 to 260 characters and cannot contain '<', '>', '*', '%', '&', ':', '\\', '?', '/' or '#'."),
    }
}

/// The provider's answer to an invalid name of a resource of `resource_type`.
pub fn check(rule: NameRule, name: &str, resource_type: &str) -> Result<(), SimResponse> {
    let Some(why) = violation(rule, name) else {
        return Ok(());
    };
    // Never echo control characters back into a message a terminal will print.
    let shown: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    let (code, message) = match rule {
        NameRule::ContainerApp => (
            "ContainerAppInvalidName",
            format!("Invalid ContainerApp name '{shown}'. {why}"),
        ),
        NameRule::StorageAccount => (
            "AccountNameInvalid",
            format!("{shown} is not a valid storage account name. {why}"),
        ),
        NameRule::ResourceGroup => (
            "InvalidResourceGroupName",
            format!("The resource group name '{shown}' is invalid. {why}"),
        ),
        _ => (
            "InvalidResourceName",
            format!("The resource name '{shown}' for type '{resource_type}' is invalid. {why}"),
        ),
    };
    Err(SimResponse::arm_error(
        StatusCode::BAD_REQUEST,
        code,
        &message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_app_names_follow_azure() {
        assert!(violation(NameRule::ContainerApp, "dagster-webserver").is_none());
        for bad in [
            "A",
            "x",
            "-ab",
            "ab-",
            "a--b",
            "Upper",
            "a_b",
            &"a".repeat(33),
        ] {
            assert!(violation(NameRule::ContainerApp, bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn other_rules() {
        assert!(violation(NameRule::StorageAccount, "stbackups01").is_none());
        assert!(violation(NameRule::StorageAccount, "st-backups").is_some());
        assert!(violation(NameRule::KeyVault, "kv-platform-prod").is_none());
        assert!(violation(NameRule::KeyVault, "1kv").is_some());
        assert!(violation(NameRule::ResourceGroup, "rg.(x)_y-z").is_none());
        assert!(violation(NameRule::ResourceGroup, "rg.").is_some());
        assert!(violation(NameRule::Any, "a\u{1b}[31m").is_some());
        assert!(violation(NameRule::Any, "a:b").is_some());
        let e = check(
            NameRule::ContainerApp,
            "Bad\u{7}",
            "Microsoft.App/containerApps",
        )
        .unwrap_err();
        assert!(!format!("{:?}", e.body).contains('\u{7}'));
    }
}
