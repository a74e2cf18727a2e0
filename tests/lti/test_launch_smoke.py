from tests.sakai import MEMBERSHIP


def test_instructor_launch_shows_media_page_with_manage_guest_access(launch):
    result = launch("Instructor")
    assert result.response.status_code == 200, result.html[:500]
    assert "Weekly seminar" in result.html
    assert "Manage guest access" in result.html
    assert result.token and result.room_id


def test_student_launch_has_no_manage_guest_access(launch):
    result = launch("Student")
    assert result.response.status_code == 200
    assert "Manage guest access" not in result.html
    assert 'aria-label="More actions"' in result.html


def test_replayed_id_token_is_refused(client, platform):
    login = client.get("/lti/login", query_string=platform.login_params())
    from tests.sakai import auth_url_from

    form = platform.authorize(auth_url_from(login))
    assert client.post("/lti/launch", data=form).status_code == 200
    again = client.post("/lti/launch", data=form)
    assert again.status_code == 400
    assert "already used" in again.get_data(as_text=True)


def test_ta_is_moderator(launch):
    result = launch([MEMBERSHIP + "Instructor#TeachingAssistant"])
    assert "Manage guest access" in result.html
